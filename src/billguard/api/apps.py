from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "billguard.api"
    label = "api"
