"""The HMAC key of the audit trail, kept outside the database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings

from billguard.domain.errors import NotFound

KEY_ENV = "BILLGUARD_AUDIT_KEY"


def audit_key_path() -> Path:
    return Path(settings.VAR_DIR) / "audit.key"


def audit_key(*, create: bool = True) -> bytes:
    """Return the key from BILLGUARD_AUDIT_KEY, else from var/audit.key.

    With ``create``, the key file is created with 32 random bytes and mode 0600 when it does
    not exist yet. Without it, a missing key raises NotFound.
    """
    from_env = os.environ.get(KEY_ENV, "")
    if from_env:
        return from_env.encode()
    path = audit_key_path()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise NotFound(
                f"the audit key file {path} does not exist and {KEY_ENV} is not set.",
                place=KEY_ENV,
                fix="Set BILLGUARD_AUDIT_KEY or BILLGUARD_VAR_DIR to where the key of this "
                "database is kept.",
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between the read and the open.
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as file:
        file.write(secrets.token_bytes(32))
    return path.read_bytes()
