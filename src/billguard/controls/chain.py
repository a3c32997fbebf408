"""The HMAC of an audit entry: its canonical JSON content chained to the previous HMAC."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from billguard.controls.models import AuditEntry


def json_normalize(value: Any) -> Any:
    """Return ``value`` as it reads back from a JSON column (Decimal and dates become text).

    NOTE: a float may read back from PostgreSQL's jsonb in another form (1e20 comes back as
    an integer), which changes the HMAC, so callers pass amounts as Decimal, never as float.
    """
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def canonical_content(entry: AuditEntry) -> bytes:
    """Return the canonical JSON of the entry's content: sorted keys, no spaces, UTF-8."""
    content = {
        "sequence": entry.sequence,
        "recorded_at": entry.recorded_at.astimezone(dt.UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "record_type": entry.record_type,
        "record_id": entry.record_id,
        "billing_run_id": entry.billing_run_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hmac(entry: AuditEntry, previous_hmac: str, key: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``previous_hmac`` followed by the entry's content."""
    message = previous_hmac.encode() + b"\n" + canonical_content(entry)
    return hmac.new(key, message, hashlib.sha256).hexdigest()
