"""Django settings for Billguard.

The database comes from BILLGUARD_DATABASE_URL (``sqlite:///path`` or
``postgresql://user@host:port/name``); without it, Billguard uses the embedded SQLite
database ``billguard.sqlite3`` under the var directory (BILLGUARD_VAR_DIR, default ``./var``).
"""

import os
from pathlib import Path

import dj_database_url

VAR_DIR = Path(os.environ.get("BILLGUARD_VAR_DIR", "var")).resolve()

SECRET_KEY = os.environ.get("BILLGUARD_SECRET_KEY", "billguard-local-development-only")
DEBUG = os.environ.get("BILLGUARD_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "billguard.registry",
    "billguard.billing",
    "billguard.checks",
    "billguard.procurement",
    "billguard.controls",
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BILLGUARD_DATABASE_URL", f"sqlite:///{VAR_DIR / 'billguard.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "billguard": {
            "handlers": ["stderr"],
            "level": os.environ.get("BILLGUARD_LOG_LEVEL", "WARNING"),
        },
    },
}
