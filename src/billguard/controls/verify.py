"""Verifying the audit trail: the chain in the database, then the checkpoints outside it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from billguard.controls.chain import entry_hmac
from billguard.controls.keys import audit_key
from billguard.controls.models import AuditChainHead, AuditEntry
from billguard.controls.services import HEAD_ID, checkpoints_read


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of audit_verify; ``problem`` is empty when the chain is intact."""

    entries_checked: int
    last_sequence: int
    problem: str = ""
    first_bad_sequence: int | None = None
    message: str = ""

    @property
    def intact(self) -> bool:
        return not self.problem


def audit_verify() -> VerifyResult:
    """Walk the chain in sequence order and name the first entry that fails a check.

    Problems, in the order they are checked:

    - ``sequence_gap``: an entry was deleted, or one was inserted with a sequence of its own.
    - ``link_broken``: the stored previous HMAC is not the HMAC of the entry before, as after
      a reorder or an insert.
    - ``hmac_mismatch``: the content was edited, or the key is not the one it was written with.
    - ``head_mismatch``: the head row and the last entry differ, as after deleting the last
      entries.
    - ``checkpoint_mismatch``: the chain is consistent but differs from a checkpoint written
      outside the database, as after a rewrite with the key.
    - ``checkpoint_unreadable``: a line of the checkpoint file is not a checkpoint.
    """
    chain_empty = not AuditEntry.objects.exists()
    if chain_empty and not AuditChainHead.objects.filter(sequence__gt=0).exists():
        return _checkpoints_compare(0, 0)
    # Verifying never creates a key: a new key would only make every entry look edited.
    key = audit_key(create=False)
    expected_sequence = 1
    previous = ""
    checked = 0
    entries = AuditEntry.objects.order_by("sequence")
    for entry in entries.iterator(chunk_size=2000):
        if entry.sequence != expected_sequence:
            return _failed(
                checked,
                previous_sequence=expected_sequence - 1,
                problem="sequence_gap",
                sequence=expected_sequence,
                message=f"entry {expected_sequence} is missing: the next entry is "
                f"{entry.sequence}, so entries were deleted or one was inserted",
            )
        if not hmac.compare_digest(entry.previous_hmac, previous):
            return _failed(
                checked,
                previous_sequence=expected_sequence - 1,
                problem="link_broken",
                sequence=entry.sequence,
                message=f"entry {entry.sequence} does not link to the HMAC of entry "
                f"{entry.sequence - 1}, so entries were reordered, inserted or deleted",
            )
        if not hmac.compare_digest(entry.hmac, entry_hmac(entry, previous, key)):
            return _failed(
                checked,
                previous_sequence=expected_sequence - 1,
                problem="hmac_mismatch",
                sequence=entry.sequence,
                message=f"entry {entry.sequence} does not match its HMAC, so it was edited "
                "(or the audit key is not the key it was written with)",
            )
        previous = entry.hmac
        checked += 1
        expected_sequence += 1
    last_sequence = expected_sequence - 1

    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    head_state = (head.sequence, head.hmac) if head is not None else (0, "")
    if head_state != (last_sequence, previous):
        return VerifyResult(
            checked,
            last_sequence,
            "head_mismatch",
            last_sequence + 1 if head_state[0] > last_sequence else last_sequence,
            f"the chain head is at entry {head_state[0]} but the last entry is "
            f"{last_sequence}, so the last entries were deleted or the head was edited",
        )
    return _checkpoints_compare(checked, last_sequence)


def _failed(
    checked: int, *, previous_sequence: int, problem: str, sequence: int, message: str
) -> VerifyResult:
    return VerifyResult(checked, previous_sequence, problem, sequence, message)


def _checkpoints_compare(checked: int, last_sequence: int) -> VerifyResult:
    """Compare every checkpoint with the entry at its sequence.

    A chain rewritten with the key passes every check above, so only a checkpoint shows it.
    The first entry named is the one after the highest checkpoint that still matches below
    the mismatch, because any entry from there on may have been rewritten.
    """
    try:
        checkpoints = sorted(set(checkpoints_read()))
    except ValueError as error:
        return VerifyResult(checked, last_sequence, "checkpoint_unreadable", None, str(error))
    if not checkpoints:
        return VerifyResult(checked, last_sequence)
    stored = dict(
        AuditEntry.objects.filter(sequence__in=[s for s, _ in checkpoints]).values_list(
            "sequence", "hmac"
        )
    )
    last_good = 0
    for sequence, expected in checkpoints:
        if sequence > last_sequence:
            return VerifyResult(
                checked,
                last_sequence,
                "checkpoint_mismatch",
                last_good + 1,
                f"a checkpoint names entry {sequence} but the chain ends at entry "
                f"{last_sequence}, so entries after {last_good} were deleted or rewritten",
            )
        if not hmac.compare_digest(stored[sequence], expected):
            return VerifyResult(
                checked,
                last_sequence,
                "checkpoint_mismatch",
                last_good + 1,
                f"entry {sequence} differs from its checkpoint, so an entry from {last_good + 1} "
                f"to {sequence} was rewritten and every later HMAC recomputed",
            )
        last_good = sequence
    return VerifyResult(checked, last_sequence)
