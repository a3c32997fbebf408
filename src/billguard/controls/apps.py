import importlib.util

from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "billguard.controls"
    label = "controls"

    def ready(self) -> None:
        # The change request registry is optional until every target has its applier module.
        if importlib.util.find_spec("billguard.controls.appliers") is not None:
            from billguard.controls import template_appliers

            template_appliers.register()
