from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billguard.billing"
    label = "billing"
