"""The WSGI application for production servers, such as ``gunicorn billguard.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")

application = get_wsgi_application()
