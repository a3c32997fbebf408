"""Setting, listing and importing the accounting mappings, with an audit entry per write.

The mappings only rename what Billguard posts, so they are set directly by a user who may
manage the chart of accounts (action ``seller_entity_manage``), without a change request.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.exports.models import AccountingSystem, AccountMapping, TaxMapping
from billguard.exports.treatments import parse_treatment
from billguard.registry.models import GLAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

KINDS = ("account", "tax")
MAPPINGS_HEADER = ["kind", "key", "system", "target"]
MAX_TARGET_LENGTH = 200


@dataclass(frozen=True)
class MappingRow:
    """One mapping as the CLI lists it and the mappings CSV contains it."""

    kind: str  # account or tax
    key: str  # GL account code or treatment key
    system: str
    target: str


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    changed: int
    unchanged: int
    dry_run: bool


# Placeholders for the --target of a missing mapping in the fix that errors print.
_TARGET_PLACEHOLDERS = {
    ("account", "quickbooks"): "'QUICKBOOKS ACCOUNT NAME'",
    ("account", "xero"): "XERO_ACCOUNT_CODE",
    ("tax", "quickbooks"): "'QUICKBOOKS TAX CODE'",
    ("tax", "xero"): "'XERO TAX RATE NAME'",
}


def mapping_add_command(kind: str, key: str, system: str) -> str:
    """Return the command that sets one mapping, with a placeholder for the target."""
    target = _TARGET_PLACEHOLDERS.get((kind, system), "TARGET")
    return (
        f"billguard accounting-mappings add {kind} {_quoted(key)} --system {system} "
        f"--target {target}"
    )


def mapping_set(
    *, kind: str, key: str, system: str, target: str, by: User | None = None, place: str = ""
) -> tuple[MappingRow, bool]:
    """Create or change one mapping. Return it and whether anything changed."""
    if by is not None:
        authorize(by, "seller_entity_manage")
    row = _checked_row(kind, key, system, target, place=place)
    with transaction.atomic():
        changed = _store(row, actor=by.get_username() if by is not None else DEFAULT_ACTOR)
    return row, changed


def mappings_list(*, system: str | None = None, kind: str | None = None) -> list[MappingRow]:
    rows: list[MappingRow] = []
    if kind in (None, "account"):
        accounts = AccountMapping.objects.all()
        if system:
            accounts = accounts.filter(system=system)
        rows += [MappingRow("account", m.gl_account, m.system, m.target) for m in accounts]
    if kind in (None, "tax"):
        taxes = TaxMapping.objects.all()
        if system:
            taxes = taxes.filter(system=system)
        rows += [MappingRow("tax", m.treatment, m.system, m.target) for m in taxes]
    return sorted(rows, key=lambda r: (r.system, r.kind, r.key))


def mappings_csv(rows: list[MappingRow]) -> str:
    """Return ``rows`` in the layout that :func:`mappings_import` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAPPINGS_HEADER)
    for row in rows:
        writer.writerow([row.kind, row.key, row.system, row.target])
    return out.getvalue()


def mappings_import(
    *, content: str, source: str, dry_run: bool = False, by: User | None = None
) -> ImportResult:
    """Import a mappings CSV (columns kind, key, system, target): all rows or none.

    Every row is checked before the first write. Importing the same file again changes
    nothing and leaves no audit entry. A dry run checks and counts, then rolls back.
    """
    if by is not None:
        authorize(by, "seller_entity_manage")
    reader = csv.DictReader(io.StringIO(content))
    missing = [column for column in MAPPINGS_HEADER if column not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"missing column(s) {', '.join(missing)}.",
            place=f"{source}, header",
            value=",".join(reader.fieldnames or []),
            fix=f"The first row must name the columns {', '.join(MAPPINGS_HEADER)}.",
        )
    rows: list[MappingRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row_number, raw in enumerate(reader, start=2):
        place = f"{source}, row {row_number}"
        row = _checked_row(
            (raw.get("kind") or "").strip(),
            raw.get("key") or "",
            (raw.get("system") or "").strip(),
            raw.get("target") or "",
            place=place,
        )
        identity = (row.kind, row.key, row.system)
        if identity in seen:
            raise InvalidInput(
                f"the {row.system} mapping of {row.kind} {row.key} is also on row "
                f"{seen[identity]}.",
                place=place,
                value=row.key,
                fix="Keep one row per kind, key and system.",
            )
        seen[identity] = row_number
        rows.append(row)

    actor = by.get_username() if by is not None else DEFAULT_ACTOR
    existing = {(r.kind, r.key, r.system) for r in mappings_list()}
    created = changed = unchanged = 0
    with transaction.atomic():
        for row in rows:
            is_new = (row.kind, row.key, row.system) not in existing
            if _store(row, actor=actor):
                if is_new:
                    created += 1
                else:
                    changed += 1
            else:
                unchanged += 1
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        logger.info(
            "accounting mappings imported from %s: %d created, %d changed, %d unchanged",
            source,
            created,
            changed,
            unchanged,
        )
    return ImportResult(len(rows), created, changed, unchanged, dry_run)


def _checked_row(kind: str, key: str, system: str, target: str, *, place: str) -> MappingRow:
    prefix = f"{place}, " if place else ""
    if kind not in KINDS:
        raise InvalidInput(
            f"{kind!r} is not a mapping kind.",
            place=f"{prefix}kind",
            value=kind,
            fix="Use account (a GL account code) or tax (a tax treatment).",
        )
    if system not in AccountingSystem.values:
        raise InvalidInput(
            f"{system!r} is not an accounting system.",
            place=f"{prefix}system",
            value=system,
            fix=f"Use one of: {', '.join(AccountingSystem.values)}.",
        )
    target = target.strip()
    if not target or len(target) > MAX_TARGET_LENGTH:
        raise InvalidInput(
            "the target is empty." if not target else "the target is over 200 characters.",
            place=f"{prefix}target",
            value=target,
            fix="Give the account name (QuickBooks Online), the account code (Xero) or the "
            "tax code or tax rate name exactly as the accounting system shows it.",
        )
    key = key.strip()
    if kind == "account":
        if not GLAccount.objects.filter(code=key).exists():
            raise NotFound(
                f"GL account {key!r} is not in the chart of accounts.",
                place=f"{prefix}key",
                value=key,
                fix="Map an account code of the chart of accounts, or add the account to the "
                "chart first.",
            )
    else:
        key = parse_treatment(key, place=f"{prefix}key")
    if kind == "account" and system == AccountingSystem.XERO and " " in target:
        raise InvalidInput(
            f"{target!r} is not a Xero account code: it contains a space.",
            place=f"{prefix}target",
            value=target,
            fix="Give the code from Xero's chart of accounts, such as 200, not '200 - Sales'.",
        )
    return MappingRow(kind, key, system, target)


def _store(row: MappingRow, *, actor: str) -> bool:
    """Write ``row`` with its audit entry unless it is already stored as is."""
    mapping: AccountMapping | TaxMapping
    if row.kind == "account":
        mapping = (
            AccountMapping.objects.select_for_update()
            .filter(system=row.system, gl_account=row.key)
            .first()
        ) or AccountMapping(system=row.system, gl_account=row.key, target="")
    else:
        mapping = (
            TaxMapping.objects.select_for_update()
            .filter(system=row.system, treatment=row.key)
            .first()
        ) or TaxMapping(system=row.system, treatment=row.key, target="")
    if mapping.pk is not None and mapping.target == row.target:
        return False
    before = _snapshot(row, mapping.target) if mapping.pk is not None else None
    mapping.target = row.target
    mapping.save()
    audit_record(
        actor=actor,
        action="accounting_mapping.set",
        record=mapping,
        before=before,
        after=_snapshot(row, row.target),
    )
    return True


def _snapshot(row: MappingRow, target: str) -> dict[str, str]:
    return {"kind": row.kind, "key": row.key, "system": row.system, "target": target}


def _quoted(text: str) -> str:
    if text and all(c.isalnum() or c in "-_.:/" for c in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"
