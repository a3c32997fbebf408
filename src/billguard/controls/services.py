"""Appending to the audit trail, and writing its checkpoints outside the database."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from billguard.billing.bulk import instances_insert
from billguard.controls.chain import entry_hmac, json_normalize
from billguard.controls.keys import audit_key
from billguard.controls.models import AuditChainHead, AuditEntry

logger = logging.getLogger(__name__)

# A checkpoint is written each time the chain passes a multiple of this many entries.
CHECKPOINT_EVERY = 100
DEFAULT_ACTOR = "system"
HEAD_ID = 1


@dataclass(frozen=True)
class AuditItem:
    """The content of one entry to append, before the chain gives it a sequence and HMAC."""

    action: str
    record_type: str
    record_id: str
    before: Any
    after: Any
    reason: str = ""
    billing_run_id: int | None = None


def record_label(record: models.Model) -> tuple[str, str]:
    """Return the record type (the model label, such as ``billing.invoice``) and id as text."""
    return record._meta.label_lower, str(record.pk)


def audit_record(
    *,
    actor: str,
    action: str,
    record: models.Model,
    before: Any,
    after: Any,
    reason: str = "",
    billing_run_id: int | None = None,
) -> AuditEntry:
    """Append one entry for a write to ``record``, in the caller's transaction."""
    record_type, record_id = record_label(record)
    item = AuditItem(action, record_type, record_id, before, after, reason, billing_run_id)
    return audit_record_batch(actor=actor, items=[item])[0]


def audit_record_batch(*, actor: str, items: Sequence[AuditItem]) -> list[AuditEntry]:
    """Append ``items`` in order under one lock of the chain head, with one bulk insert.

    Must run inside the transaction of the audited write, so that the write and its entries
    commit or roll back together.
    """
    if not items:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the audited write")
    key = audit_key()
    head = _head_lock()
    first_sequence = head.sequence + 1
    previous = head.hmac
    now = timezone.now()
    entries = []
    for offset, item in enumerate(items):
        entry = AuditEntry(
            sequence=first_sequence + offset,
            recorded_at=now,
            actor=(actor or DEFAULT_ACTOR)[:150],
            action=item.action,
            record_type=item.record_type,
            record_id=item.record_id,
            billing_run_id=item.billing_run_id,
            before=json_normalize(item.before),
            after=json_normalize(item.after),
            reason=item.reason,
            previous_hmac=previous,
        )
        entry.hmac = entry_hmac(entry, previous, key)
        previous = entry.hmac
        entries.append(entry)
    instances_insert(AuditEntry, entries)

    old_sequence = head.sequence
    head.sequence = entries[-1].sequence
    head.hmac = entries[-1].hmac
    head.save(update_fields=["sequence", "hmac"])
    if old_sequence // CHECKPOINT_EVERY != head.sequence // CHECKPOINT_EVERY:
        transaction.on_commit(audit_checkpoint)
    return entries


def _head_lock() -> AuditChainHead:
    """Lock and return the chain head row.

    On PostgreSQL, SELECT ... FOR UPDATE serializes appenders. SQLite ignores FOR UPDATE, and
    the database write lock that the audited write already took serializes them instead.
    """
    head = AuditChainHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is not None:
        return head
    if AuditEntry.objects.exists():
        raise RuntimeError(
            "the audit chain head row is missing while entries exist; "
            "run `billguard audit verify` and restore the database from a backup"
        )
    # The head row is created by the migration; a flushed test database has none.
    return AuditChainHead.objects.create(pk=HEAD_ID, sequence=0, hmac="")


def checkpoints_path() -> Path:
    """Return var/audit/<database>/checkpoints.log, the checkpoints of this database's chain.

    Each database has its own file, so that a second database (a test copy, a fresh install)
    under the same var directory is not compared with another chain's checkpoints.
    """
    return Path(settings.VAR_DIR) / "audit" / database_label() / "checkpoints.log"


def database_label(database: Mapping[str, Any] | None = None) -> str:
    """Return a file-name-safe label of a database (the default one): engine, host, port, name."""
    database = database if database is not None else settings.DATABASES["default"]
    vendor = str(database["ENGINE"]).rsplit(".", 1)[-1]
    name = Path(str(database["NAME"])).name
    parts = [vendor, str(database.get("HOST") or ""), str(database.get("PORT") or ""), name]
    text = "-".join(part for part in parts if part)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def audit_checkpoint() -> tuple[int, str] | None:
    """Append the committed chain head (sequence and HMAC) to the checkpoints file.

    Returns the head written, or None when the chain is empty or the head is already the
    last line. The file is opened in append mode and each line is written by one write call.
    """
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is None or head.sequence == 0:
        return None
    path = checkpoints_path()
    last = checkpoints_read()[-1:] if path.exists() else []
    if last and last[0] == (head.sequence, head.hmac):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "sequence": head.sequence,
            "hmac": head.hmac,
            "written_at": timezone.now().isoformat(),
        }
    )
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
    logger.info("audit checkpoint written at sequence %s", head.sequence)
    return head.sequence, head.hmac


def checkpoints_read() -> list[tuple[int, str]]:
    """Return the (sequence, hmac) pairs of the checkpoint file, in file order.

    Raises ValueError naming the line number when a line is not a valid checkpoint.
    """
    path = checkpoints_path()
    if not path.exists():
        return []
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            checkpoints.append((int(data["sequence"]), str(data["hmac"])))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} line {number} is not a valid checkpoint: {error}") from error
    return checkpoints
