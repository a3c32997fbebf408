from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "billguard.imports"
    label = "imports"
