from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "billguard.insights"
    label = "insights"
    verbose_name = "Insights"
