from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "billguard.receivables"
    label = "receivables"
