from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "billguard.checks"
    label = "checks"
