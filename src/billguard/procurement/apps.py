from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "billguard.procurement"
    label = "procurement"
