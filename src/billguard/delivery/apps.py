from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "billguard.delivery"
    label = "delivery"
