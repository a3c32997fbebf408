from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "billguard.exports"
    label = "exports"
