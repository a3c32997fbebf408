"""Checks of the parties family: the draft is addressed to the contract's active bill-to entity,
with a valid buyer tax ID wherever the tax treatment needs one."""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.domain.currencies import is_currency
from billguard.domain.invoice import PartyInfo
from billguard.domain.money import Money
from billguard.registry.duplicates import normalize_name
from billguard.registry.models import BillToEntity, ContractVersion, Party
from billguard.registry.pricing import contract_line
from billguard.registry.tax_ids import TaxIdCheck, normalize_tax_id, validate_tax_id

FAMILY = "parties"

# VAT categories under which the buyer accounts for the VAT, so the invoice must name the
# buyer's VAT identifier (BT-48): AE reverse charge and K intra-community supply. EN 16931
# requires BT-48 for K (BR-IC-02) and accepts BT-48 or the legal registration identifier
# (BT-47) for AE (BR-AE-02). Billguard requires BT-48 in both cases.
CATEGORIES_NEEDING_BUYER_TAX_ID = {
    "AE": "reverse charge",
    "K": "intra-community supply",
}


def invoice_total(draft: Draft) -> Money | None:
    """Return the payable amount (BT-115), which is at stake when the buyer is wrong.

    Returns None when the draft's currency is not an ISO 4217 code, because Money rejects it.
    """
    currency = draft.document.currency
    if not is_currency(currency):
        return None
    return Money(draft.document.totals.payable, currency)


def is_external(draft: Draft) -> bool:
    """Return whether another system made the draft, so that it has no bill-to entity id."""
    return draft.origin != "billing_run"


def describe_bill_to(bill_to: BillToEntity) -> str:
    return f"{bill_to.code} {bill_to.name}"


def describe_party(party: Party) -> str:
    return f"{party.code} {party.name}"


@check("BILL_TO_MISSING", family=FAMILY, severity=Severity.BLOCK)
def bill_to_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    version = context.version_on(draft.service_start)
    evidence = context.contract_evidence(version)
    buyer = draft.document.buyer

    if not is_external(draft) and context.bill_to is None:
        yield Observation(
            subject="bill-to",
            message=(
                f"the draft of contract {context.contract.number} is addressed to no bill-to "
                "entity, because its billing schedule names none"
            ),
            expected="a bill-to entity",
            actual="(none)",
            amount_at_stake=invoice_total(draft),
            evidence=evidence,
        )
    elif not buyer.name.strip():
        yield Observation(
            subject="buyer",
            message="the draft has no buyer name (BT-44)",
            expected="the buyer's name",
            actual="(empty)",
            amount_at_stake=invoice_total(draft),
            evidence=evidence,
        )

    if version is not None and version.bill_to_id is None:
        yield Observation(
            subject="contract bill-to",
            message=(
                f"contract {context.contract.number} version {version.version_number} names "
                "no bill-to entity"
            ),
            expected="a bill-to entity on the contract",
            actual="(none)",
            amount_at_stake=invoice_total(draft),
            evidence=evidence,
        )


@check("BILL_TO_MISMATCH", family=FAMILY, severity=Severity.BLOCK)
def bill_to_mismatch(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    version = context.version_on(draft.service_start)
    if version is None or version.bill_to is None:
        return  # BILL_TO_MISSING reports a contract without a bill-to entity.
    expected = version.bill_to
    evidence = {**context.contract_evidence(version), "contract_bill_to": expected.code}

    if context.bill_to is not None:
        if context.bill_to.pk == expected.pk:
            return
        actual = describe_bill_to(context.bill_to)
        evidence["draft_bill_to"] = context.bill_to.code
    else:
        buyer = draft.document.buyer
        if not buyer.name.strip() or buyer_matches(buyer, expected):
            return  # An empty buyer is BILL_TO_MISSING.
        actual = f"{buyer.name} (tax ID {buyer.tax_id or 'none'})"
        evidence["draft_buyer"] = buyer.name

    yield Observation(
        subject="bill-to",
        message=(
            f"the draft is addressed to {actual}, but contract {context.contract.number} "
            f"version {version.version_number} bills {describe_bill_to(expected)}"
        ),
        expected=describe_bill_to(expected),
        actual=actual,
        amount_at_stake=invoice_total(draft),
        evidence=evidence,
    )


def buyer_matches(buyer: PartyInfo, bill_to: BillToEntity) -> bool:
    """Decide whether an external draft's buyer is ``bill_to``.

    The tax IDs decide when both have one, and the normalised names decide otherwise.
    """
    if buyer.tax_id.strip() and bill_to.tax_id.strip():
        country = buyer.address.country or bill_to.country
        return comparable_tax_id(buyer.tax_id, country) == comparable_tax_id(
            bill_to.tax_id, bill_to.country
        )
    return normalize_name(buyer.name) == normalize_name(bill_to.name)


def comparable_tax_id(value: str, country: str) -> str:
    """Return the tax ID in a form where 'DE 123 456 788' and '123456788' in DE are equal."""
    if country:
        verdict = validate_tax_id(value, country)
        if verdict.valid:
            return verdict.normalized
    return normalize_tax_id(value)


@check("BILL_TO_INACTIVE", family=FAMILY, severity=Severity.BLOCK)
def bill_to_inactive(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    version = context.version_on(draft.service_start)
    evidence = context.contract_evidence(version)
    # Check the draft's own bill-to entity and, when it is another one, the contract's. An
    # external draft has no bill-to id, and BILL_TO_MISMATCH reports when the two differ.
    entities: dict[int, BillToEntity] = {}
    for bill_to in (context.bill_to, version.bill_to if version else None):
        if bill_to is not None:
            entities.setdefault(bill_to.pk, bill_to)

    for bill_to in entities.values():
        name = describe_bill_to(bill_to)
        party = bill_to.party
        specifics = {"bill_to": bill_to.code, "party": party.code}
        if bill_to.archived_at is not None:
            yield Observation(
                subject="bill-to",
                message=f"bill-to entity {name} was archived on {bill_to.archived_at.date()}",
                expected="an active bill-to entity",
                actual=f"archived on {bill_to.archived_at.date()}",
                amount_at_stake=invoice_total(draft),
                evidence={**evidence, **specifics},
            )
        if party.merged_into is not None:
            survivor = describe_party(party.merged_into)
            yield Observation(
                subject="bill-to",
                message=(
                    f"the party {describe_party(party)} of bill-to entity {name} was merged "
                    f"into {survivor}"
                ),
                expected="a bill-to entity of an active party",
                actual=f"party merged into {survivor}",
                amount_at_stake=invoice_total(draft),
                evidence={**evidence, **specifics, "merged_into": party.merged_into.code},
            )
        if party.archived_at is not None:
            yield Observation(
                subject="bill-to",
                message=(
                    f"the party {describe_party(party)} of bill-to entity {name} was archived "
                    f"on {party.archived_at.date()}"
                ),
                expected="a bill-to entity of an active party",
                actual=f"party archived on {party.archived_at.date()}",
                amount_at_stake=invoice_total(draft),
                evidence={**evidence, **specifics},
            )


@check("TAX_ID_INVALID", family=FAMILY, severity=Severity.BLOCK)
def tax_id_invalid(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    buyer = draft.document.buyer
    if not buyer.tax_id.strip():
        return  # TAX_ID_MISSING reports an empty tax ID where the tax treatment needs one.
    country = buyer.address.country or (context.bill_to.country if context.bill_to else "")
    verdict = validate_buyer_tax_id(buyer.tax_id, country)
    if verdict.valid:
        return

    evidence = {
        **context.contract_evidence(context.version_on(draft.service_start)),
        "tax_id": buyer.tax_id,
        "country": verdict.country or "(none)",
        "error": verdict.error,
    }
    bill_to = context.bill_to
    if bill_to is not None and normalize_tax_id(bill_to.tax_id) == normalize_tax_id(buyer.tax_id):
        evidence["bill_to"] = bill_to.code
        evidence["stored_verdict"] = {True: "valid", False: "invalid", None: "not checked"}[
            bill_to.tax_id_valid
        ]
    yield Observation(
        subject="buyer tax ID",
        message=(
            f"the buyer's tax ID {buyer.tax_id} (BT-48) is invalid for country "
            f"{verdict.country or '(none)'}: {verdict.error}"
        ),
        expected=f"a valid tax ID of {verdict.country or 'the buyer country'}",
        actual=buyer.tax_id,
        amount_at_stake=invoice_total(draft),
        evidence=evidence,
    )


def validate_buyer_tax_id(tax_id: str, country: str) -> TaxIdCheck:
    """Validate a buyer tax ID by the rules of the buyer's country, or of its VAT prefix.

    An EU VAT identifier starts with the code of the country that issued it, which can differ
    from the address country, so a prefixed ID that fails the address country's rules is
    tried again with the prefix country.
    """
    compact = normalize_tax_id(tax_id)
    prefix = compact[:2] if compact[:2].isalpha() else ""
    if not country and not prefix:
        return TaxIdCheck(tax_id, "", False, "", "the buyer has no country (BT-55)")
    verdict = validate_tax_id(tax_id, country or prefix)
    if not verdict.valid and prefix and prefix != verdict.country:
        by_prefix = validate_tax_id(tax_id, prefix)
        if by_prefix.valid:
            return by_prefix
    return verdict


@check("TAX_ID_MISSING", family=FAMILY, severity=Severity.BLOCK)
def tax_id_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    buyer = draft.document.buyer
    if buyer.tax_id.strip():
        return

    # A line needs the buyer's tax ID when the draft states such a category, or when the
    # contract's tax treatment on its service date (the contract line's, else the version's)
    # is one.
    needing: dict[str, list[str]] = {}
    for line in draft.document.lines:
        categories = {line.tax_category.strip().upper()}
        version = context.version_on(draft.line_start(line))
        if version is not None:
            categories.add(contract_tax_category(version, line.item_id))
        for category in sorted(categories & CATEGORIES_NEEDING_BUYER_TAX_ID.keys()):
            needing.setdefault(category, []).append(line.line_id)
    if not needing:
        return

    treatments = ", ".join(
        f"category {category} ({CATEGORIES_NEEDING_BUYER_TAX_ID[category]}) on "
        f"{'line' if len(line_ids) == 1 else 'lines'} {', '.join(line_ids)}"
        for category, line_ids in sorted(needing.items())
    )
    evidence = context.contract_evidence(context.version_on(draft.service_start))
    hint = ""
    if context.bill_to is not None and context.bill_to.tax_id:
        evidence["bill_to_tax_id"] = context.bill_to.tax_id
        hint = f", although bill-to entity {context.bill_to.code} has {context.bill_to.tax_id}"
    yield Observation(
        subject="buyer tax ID",
        message=(
            f"the draft applies {treatments}, which needs the buyer's VAT identifier (BT-48), "
            f"but the buyer {buyer.name or '(no name)'} has none{hint}"
        ),
        expected="the buyer's VAT identifier",
        actual="(empty)",
        amount_at_stake=invoice_total(draft),
        evidence=evidence,
    )


def contract_tax_category(version: ContractVersion, line_code: str) -> str:
    """Return the VAT category the contract sets for a line: the line's own, else the
    version's."""
    line = contract_line(version, line_code) if line_code else None
    if line is not None and line.tax_category:
        return line.tax_category.strip().upper()
    return version.tax_category.strip().upper()


@check("PARTY_DUPLICATE_SUSPECTED", family=FAMILY, severity=Severity.WARN)
def party_duplicate_suspected(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    if not context.duplicate_parties:
        return
    party = context.bill_to.party if context.bill_to is not None else context.contract.party
    evidence = context.contract_evidence(context.version_on(draft.service_start))

    # The matcher returns one pair per reason, so one other party can come with several.
    reasons: dict[int, list[str]] = {}
    others: dict[int, Party] = {}
    for other, reason in context.duplicate_parties:
        others.setdefault(other.pk, other)
        reasons.setdefault(other.pk, []).append(reason)

    for other_id, other in others.items():
        reason_text = "; ".join(reasons[other_id])
        yield Observation(
            subject="party",
            message=(
                f"customer {describe_party(party)} is likely a duplicate of customer "
                f"{describe_party(other)}, which has contracts of its own: {reason_text}"
            ),
            expected="one party per customer",
            actual=f"{party.code} and {other.code}",
            amount_at_stake=invoice_total(draft),
            evidence={
                **evidence,
                "party": party.code,
                "duplicate_party": other.code,
                "reason": reason_text,
            },
        )
