from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "billguard.registry"
    label = "registry"
