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

# Signed documents are stored content-addressed (their name is their SHA-256) in the
# "documents" storage; any Django storage backend with the same API can replace it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "documents")},
    },
}
# Media types accepted per document kind, overriding the defaults of
# billguard.registry.services.documents.DEFAULT_ALLOWED_TYPES, such as
# {"rate_card": ["application/pdf", "text/csv"]}.
DOCUMENT_ALLOWED_TYPES: dict[str, list[str]] = {}

# Alert email goes out through this SMTP server (BILLGUARD_SMTP_HOST, BILLGUARD_SMTP_PORT).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("BILLGUARD_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("BILLGUARD_SMTP_PORT", "25"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("BILLGUARD_MAIL_FROM", "billguard@localhost")

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
