import hashlib
import hmac

import pytest
from django.db import DatabaseError, transaction

from billguard.controls.chain import entry_hmac
from billguard.controls.keys import audit_key
from billguard.controls.models import AuditChainHead, AuditEntry
from billguard.controls.services import (
    audit_checkpoint,
    audit_record,
    checkpoints_path,
    database_label,
)
from billguard.controls.verify import audit_verify
from billguard.registry.models import Contract
from tests.controls.conftest import triggers_bypassed
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

ENTRIES = 6


def entries_append(contract: Contract, up_to: int) -> None:
    """Append writes to ``contract`` until the chain has ``up_to`` entries."""
    for number in range(AuditEntry.objects.count() + 1, up_to + 1):
        audit_record(
            actor="billing.clerk",
            action="test.write",
            record=contract,
            before={"step": number - 1},
            after={"step": number},
            reason=f"write {number}",
        )


@pytest.fixture
def chain() -> list[AuditEntry]:
    """A chain of ENTRIES entries: the contract's SOW, creation and activation, then writes."""
    entries_append(make_contract().contract, ENTRIES)
    return list(AuditEntry.objects.order_by("sequence"))


def rehash_from(sequence: int, key: bytes) -> None:
    """Recompute the HMAC of every entry from ``sequence`` on with ``key``, head included."""
    previous = AuditEntry.objects.get(sequence=sequence - 1).hmac if sequence > 1 else ""
    with triggers_bypassed():
        for entry in AuditEntry.objects.filter(sequence__gte=sequence).order_by("sequence"):
            entry.previous_hmac = previous
            entry.hmac = entry_hmac(entry, previous, key)
            AuditEntry.objects.filter(pk=entry.pk).update(
                previous_hmac=entry.previous_hmac, hmac=entry.hmac
            )
            previous = entry.hmac
    AuditChainHead.objects.filter(pk=1).update(hmac=previous)


def test_intact_chain_verifies(chain):
    result = audit_verify()

    assert result.intact
    assert result.entries_checked == ENTRIES
    assert result.last_sequence == ENTRIES


def test_empty_chain_verifies():
    assert audit_verify().intact


def test_update_rejected_by_trigger(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(sequence=4).update(reason="changed")

    assert AuditEntry.objects.get(sequence=4).reason == "write 4"


def test_delete_rejected_by_trigger(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(sequence=3).delete()

    assert AuditEntry.objects.count() == ENTRIES


def test_edited_entry_detected(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=3).update(after={"step": 99})

    result = audit_verify()

    assert result.problem == "hmac_mismatch"
    assert result.first_bad_sequence == 3
    assert result.entries_checked == 2


def test_deleted_entry_detected(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=3).delete()

    result = audit_verify()

    assert result.problem == "sequence_gap"
    assert result.first_bad_sequence == 3


def test_deleted_last_entry_detected(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=ENTRIES).delete()

    result = audit_verify()

    assert result.problem == "head_mismatch"
    assert result.first_bad_sequence == ENTRIES


def test_inserted_entry_detected(chain):
    forged_key = b"guessed key"
    with triggers_bypassed():
        # Make room at sequence 3 in two steps, so that no step breaks the unique sequence.
        later = AuditEntry.objects.filter(sequence__gte=3)
        for entry in later.order_by("-sequence"):
            AuditEntry.objects.filter(pk=entry.pk).update(sequence=entry.sequence + 1)
    forged = AuditEntry(
        sequence=3,
        recorded_at=chain[1].recorded_at,
        actor="intruder",
        action="invoice.issue",
        record_type="billing.invoice",
        record_id="999",
        before=None,
        after={"number": "ADE-999999"},
        previous_hmac=chain[1].hmac,
    )
    forged.hmac = entry_hmac(forged, chain[1].hmac, forged_key)
    forged.save()

    result = audit_verify()

    assert result.problem == "hmac_mismatch"
    assert result.first_bad_sequence == 3


def test_inserted_entry_at_end_detected(chain):
    forged = AuditEntry(
        sequence=ENTRIES + 1,
        recorded_at=chain[-1].recorded_at,
        actor="intruder",
        action="credit_note.issue",
        record_type="billing.invoice",
        record_id="999",
        before=None,
        after=None,
        previous_hmac=chain[-1].hmac,
    )
    forged.hmac = hmac.new(b"guessed key", b"anything", hashlib.sha256).hexdigest()
    forged.save()

    result = audit_verify()

    assert result.problem == "hmac_mismatch"
    assert result.first_bad_sequence == ENTRIES + 1


def test_reordered_entries_detected(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=3).update(sequence=-3)
        AuditEntry.objects.filter(sequence=4).update(sequence=3)
        AuditEntry.objects.filter(sequence=-3).update(sequence=4)

    result = audit_verify()

    assert result.problem == "link_broken"
    assert result.first_bad_sequence == 3


def test_rewrite_with_guessed_key_detected(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=3).update(after={"step": 99})
    rehash_from(3, b"guessed key")

    result = audit_verify()

    assert result.problem == "hmac_mismatch"
    assert result.first_bad_sequence == 3


def test_rewrite_with_real_key_passes_chain_without_checkpoint(chain):
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=3).update(after={"step": 99})
    rehash_from(3, audit_key())

    # With the key and no checkpoint outside the database, a rewrite is not detected.
    assert audit_verify().intact


def test_rewrite_with_real_key_detected_by_checkpoint():
    contract = make_contract().contract
    entries_append(contract, 3)
    audit_checkpoint()
    entries_append(contract, ENTRIES)
    audit_checkpoint()
    assert audit_verify().intact

    with triggers_bypassed():
        AuditEntry.objects.filter(sequence=5).update(after={"step": 99})
    rehash_from(5, audit_key())
    result = audit_verify()

    assert result.problem == "checkpoint_mismatch"
    assert result.first_bad_sequence == 4
    assert result.entries_checked == ENTRIES


def test_truncated_chain_detected_by_checkpoint(chain):
    audit_checkpoint()
    with triggers_bypassed():
        AuditEntry.objects.filter(sequence__gt=4).delete()
    AuditChainHead.objects.filter(pk=1).update(sequence=4, hmac=chain[3].hmac)

    result = audit_verify()

    assert result.problem == "checkpoint_mismatch"
    assert result.first_bad_sequence == 1


def test_edited_head_detected(chain):
    AuditChainHead.objects.filter(pk=1).update(sequence=ENTRIES + 2)

    result = audit_verify()

    assert result.problem == "head_mismatch"
    assert result.first_bad_sequence == ENTRIES + 1


def test_unreadable_checkpoint_file_reported(chain, var_dir):
    path = checkpoints_path()
    path.parent.mkdir(parents=True)
    path.write_text("not json\n")

    result = audit_verify()

    assert result.problem == "checkpoint_unreadable"
    assert "line 1" in result.message


def test_checkpoint_files_kept_per_database():
    one = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/var/billguard.sqlite3"}
    other = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/home/ops/fresh.sqlite3"}
    server = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "billing",
        "HOST": "127.0.0.1",
        "PORT": 5432,
    }

    assert database_label(one) == "sqlite3-billguard.sqlite3"
    assert database_label(other) == "sqlite3-fresh.sqlite3"
    assert database_label(server) == "postgresql-127.0.0.1-5432-billing"
