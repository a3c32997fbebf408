"""The WSGI application for production servers, such as ``gunicorn billguard.wsgi``."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")

if not os.environ.get("BILLGUARD_SECRET_KEY"):
    # The default key is in the source code, so anyone could forge a session signed with it.
    sys.stderr.write(
        "warning: BILLGUARD_SECRET_KEY is not set, so sessions are signed with the development "
        "key published in the source code. Set BILLGUARD_SECRET_KEY to a long random secret "
        "before anyone but you signs in.\n"
    )

application = get_wsgi_application()
