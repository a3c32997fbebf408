from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "billguard.controls"
    label = "controls"
