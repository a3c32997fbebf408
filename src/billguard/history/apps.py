from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "billguard.history"
    label = "history"
