from django.apps import AppConfig


class ControlsConfig(AppConfig):
    name = "billguard.controls"
    label = "controls"

    def ready(self) -> None:
        # Importing an applier module registers the change-request appliers it defines.
        from billguard.controls import (  # noqa: F401
            contract_applier,
            cost_change_applier,
            merge_applier,
            override,
            party_appliers,
            policy_appliers,
            schedule_applier,
            template_appliers,
        )

        policy_appliers.register()
        template_appliers.register()
