from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "billguard.web"
    label = "web"
    verbose_name = "Web application"
