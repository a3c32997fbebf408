from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "billguard.imports"
    label = "imports"

    def ready(self) -> None:
        # Registers the applier of price list item changes with the change-request service.
        from billguard.imports import price_list_applier  # noqa: F401
