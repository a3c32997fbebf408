from django.apps import AppConfig
from django.db.models.signals import post_save


class ProcurementConfig(AppConfig):
    name = "billguard.procurement"
    label = "procurement"

    def ready(self) -> None:
        from billguard.procurement.receivers import bank_account_saved
        from billguard.registry.models import VendorBankAccount

        post_save.connect(
            bank_account_saved, sender=VendorBankAccount, dispatch_uid="procurement.bank_account"
        )
