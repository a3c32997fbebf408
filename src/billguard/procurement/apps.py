from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "billguard.procurement"
    label = "procurement"

    def ready(self) -> None:
        # Importing the module connects the receivers that follow vendor cost changes.
        from billguard.procurement import passthrough_receivers  # noqa: F401
