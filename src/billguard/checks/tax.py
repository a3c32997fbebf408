"""Checks of the tax family: VAT categories and rates, exemption reasons, GL accounts, the
document's arithmetic and its currency.

Two checks cover the arithmetic, and they hold a draft for different reasons.

TOTALS_INCONSISTENT blocks a draft that breaks an EN 16931 calculation rule that the EN 16931
validation rules check. The totals must be the exact sums of BR-CO-10 to BR-CO-16, starting
from the line net amounts, allowances and charges that the draft states. The VAT breakdown
(BG-23) needs one entry per category and rate, with the taxable amount of rule 08 of its
category and the tax amount of BR-CO-17. Those two may differ from the computed ones by the
tolerance of the rules (billguard.domain.tax.BREAKDOWN_TOLERANCE): less than 1 in the
document currency for the taxable amount of categories S, L, M and B and for the tax amount
at a rate other than 0, and nothing otherwise.

LINE_NET_INCONSISTENT holds a draft whose line net amount (BT-131) does not follow from its
quantity, price, allowances and charges (BR-LIN-04). The EN 16931 validation rules have no
assert for it, and they accept a line of 2 x 800.00 that states 400.00. So it runs only for a
draft billed under a contract of the registry, whose line amounts are what the customer pays
for the contract's prices. CONTRACT_NOT_FOUND holds a draft without a contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.invoice import InvoiceLine, TaxSubtotal, Totals
from billguard.domain.money import Money
from billguard.domain.rounding import RoundingMode, round_decimal, scale_by_ratio
from billguard.domain.tax import (
    category_tax_amount,
    compute_tax_breakdown,
    compute_totals,
    line_net_explained_by_rounding,
    recompute_line_net_amount,
    tax_amount_accepted,
    taxable_amount_accepted,
)
from billguard.registry.models import ContractLine, ContractVersion
from billguard.registry.pricing import contract_line

FAMILY = "tax"

# Categories whose rate is 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05), and O, which has
# no rate (BR-O-05). Rate comparisons read a missing rate as 0 in all of them.
ZERO_RATE_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G", "O"})

# Categories whose VAT breakdown needs an exemption reason (BT-120) or reason code (BT-121),
# with the EN 16931 rule that requires it.
EXEMPTION_REASON_RULES = {
    "E": "BR-E-10",
    "AE": "BR-AE-10",
    "K": "BR-IC-10",
    "G": "BR-G-10",
    "O": "BR-O-10",
}

# The rule 08 of each category, which makes its taxable amount (BT-116) the sum of its line
# net amounts, document allowances and document charges. Split payment (B) has none, so its
# findings name the VAT breakdown (BG-23).
TAXABLE_AMOUNT_RULES = {
    "S": "BR-S-08",
    "Z": "BR-Z-08",
    "E": "BR-E-08",
    "AE": "BR-AE-08",
    "K": "BR-IC-08",
    "G": "BR-G-08",
    "O": "BR-O-08",
    "L": "BR-AF-08",
    "M": "BR-AG-08",
}


@dataclass(frozen=True)
class TotalField:
    attribute: str
    business_term: str
    label: str
    rule: str


# The document totals (BG-22) that follow from the lines and the breakdown. The paid amount
# (BT-113) and the rounding amount (BT-114) are inputs, so they are not compared.
TOTAL_FIELDS = (
    TotalField("line_extension", "BT-106", "sum of line net amounts", "BR-CO-10"),
    TotalField("allowance_total", "BT-107", "sum of document allowances", "BR-CO-11"),
    TotalField("charge_total", "BT-108", "sum of document charges", "BR-CO-12"),
    TotalField("tax_exclusive", "BT-109", "total without VAT", "BR-CO-13"),
    TotalField("tax_total", "BT-110", "total VAT amount", "BR-CO-14"),
    TotalField("tax_inclusive", "BT-112", "total with VAT", "BR-CO-15"),
    TotalField("payable", "BT-115", "amount due for payment", "BR-CO-16"),
)


def at_stake(draft: Draft, amount: Decimal) -> Money | None:
    """Return ``amount`` in the draft's currency, or None when that is not an ISO 4217 code."""
    currency = draft.document.currency
    if not is_currency(currency):
        return None
    return Money(amount, currency)


def invoice_total(draft: Draft) -> Money | None:
    return at_stake(draft, draft.document.totals.payable)


def format_rate(category: str, rate: Decimal | None) -> str:
    if rate is None:
        return "0%" if category in ZERO_RATE_CATEGORIES and category != "O" else "no rate"
    return f"{plain(rate)}%"


def plain(value: Decimal) -> str:
    """Format ``value`` without trailing zeros, so 1.0000 shows as 1."""
    return f"{value.normalize():f}"


def comparable_rate(category: str, rate: Decimal | None) -> Decimal | None:
    if rate is None and category in ZERO_RATE_CATEGORIES:
        return Decimal(0)
    return rate


def matching_contract_line(
    context: CheckContext, draft: Draft, line: InvoiceLine
) -> tuple[ContractVersion | None, ContractLine | None]:
    """Return the version in force on the line's service date and its line of that code."""
    version = context.version_on(draft.line_start(line))
    if version is None or not line.item_id:
        return version, None
    return version, contract_line(version, line.item_id)


@dataclass(frozen=True)
class TaxTreatment:
    """The VAT category and rate the contract sets for one line, and where it sets them."""

    category: str
    rate: Decimal | None
    source: str
    jurisdiction: str = ""

    def describe(self) -> str:
        text = f"{format_rate(self.category, self.rate)} (category {self.category}"
        if self.jurisdiction:
            text += f", sales tax jurisdiction {self.jurisdiction}"
        return text + ")"


def contract_tax_treatment(
    contract_number: str, version: ContractVersion, line: ContractLine | None
) -> TaxTreatment:
    """Return the contract line's category and rate when it sets a category, else the
    version's.

    A US sales tax is category S with the jurisdiction's rate on the version.
    """
    version_name = f"contract {contract_number} version {version.version_number}"
    if line is not None and line.tax_category:
        return TaxTreatment(
            line.tax_category.strip().upper(),
            line.tax_rate,
            f"line {line.line_code} of {version_name}",
        )
    return TaxTreatment(
        version.tax_category.strip().upper(),
        version.tax_rate,
        version_name,
        version.tax_jurisdiction,
    )


@check("TAX_RATE_MISMATCH", family=FAMILY, severity=Severity.BLOCK)
def tax_rate_mismatch(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    currency = draft.document.currency
    for line in draft.document.lines:
        version, contracted_line = matching_contract_line(context, draft, line)
        if version is None:
            continue
        treatment = contract_tax_treatment(context.contract.number, version, contracted_line)
        if not treatment.category:
            continue  # CONTRACT_FIELD_MISSING reports a version without a tax treatment.

        category = line.tax_category.strip().upper()
        rate = comparable_rate(category, line.tax_rate)
        expected_rate = comparable_rate(treatment.category, treatment.rate)
        if category == treatment.category and rate == expected_rate:
            continue

        actual = f"{format_rate(category, line.tax_rate)} (category {category})"
        if rate != expected_rate and is_currency(currency):
            difference = scale_by_ratio(
                line.net_amount, (expected_rate or Decimal(0)) - (rate or Decimal(0)), 100
            )
            stake = round_decimal(abs(difference), minor_units(currency), RoundingMode.HALF_UP)
        else:
            # The rates agree but the categories do not, so the whole line is at stake.
            stake = line.net_amount

        # The message names the line's category only where it differs from the contract's.
        taxed_at = format_rate(category, line.tax_rate)
        if category != treatment.category:
            taxed_at = actual
        yield Observation(
            subject=f"line {line.line_id}",
            message=(
                f"line {line.line_id} is taxed at {taxed_at} but {treatment.source} sets "
                f"{treatment.describe()}"
            ),
            expected=treatment.describe(),
            actual=actual,
            amount_at_stake=at_stake(draft, stake),
            evidence={
                **context.contract_evidence(version),
                "line": line.line_id,
                "contract_line": line.item_id,
                "tax_treatment_source": treatment.source,
            },
        )


@check("TAX_EXEMPTION_REASON_MISSING", family=FAMILY, severity=Severity.BLOCK, needs_contract=False)
def tax_exemption_reason_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Report a VAT breakdown of category E, AE, K, G or O without an exemption reason.

    EN 16931 carries the reason on the breakdown (BT-120, BT-121). A line's own reason fills
    its breakdown when Billguard computes one. A line without a reason is reported on its own
    only when the breakdown has no entry for its category and rate to carry one.
    """
    document = draft.document
    evidence = context.contract_evidence(context.version_on(draft.service_start))

    stated_keys = set()
    for subtotal in document.tax_subtotals:
        category = subtotal.category.strip().upper()
        stated_keys.add(breakdown_key(category, subtotal.rate))
        rule = EXEMPTION_REASON_RULES.get(category)
        if rule is None or subtotal.exemption_reason.strip() or subtotal.exemption_reason_code:
            continue
        line_ids = [
            line.line_id
            for line in document.lines
            if breakdown_key(line.tax_category.strip().upper(), line.tax_rate)
            == breakdown_key(category, subtotal.rate)
        ]
        name = describe_key(breakdown_key(category, subtotal.rate))
        where = f" ({describe_lines(line_ids)})" if line_ids else ""
        yield Observation(
            subject=f"VAT breakdown {name}",
            message=(
                f"the VAT breakdown of category {name}{where} has no exemption reason "
                f"(BT-120) or exemption reason code (BT-121), which EN 16931 rule {rule} "
                "requires"
            ),
            expected="an exemption reason or code",
            actual="(none)",
            amount_at_stake=at_stake(draft, subtotal.taxable_amount),
            evidence={**evidence, "rule": rule, "lines": ", ".join(line_ids)},
        )

    for line in document.lines:
        category = line.tax_category.strip().upper()
        rule = EXEMPTION_REASON_RULES.get(category)
        if rule is None or line.exemption_reason.strip():
            continue
        if breakdown_key(category, line.tax_rate) in stated_keys:
            continue  # Reported with its breakdown above, or the breakdown gives the reason.
        yield Observation(
            subject=f"line {line.line_id}",
            message=(
                f"line {line.line_id} is in VAT category {category} without an exemption "
                f"reason, and the VAT breakdown has no entry for it that gives one ({rule})"
            ),
            expected="an exemption reason",
            actual="(none)",
            amount_at_stake=at_stake(draft, line.net_amount),
            evidence={**evidence, "rule": rule, "line": line.line_id},
        )


def breakdown_key(category: str, rate: Decimal | None) -> tuple[str, Decimal | None]:
    """Return the key of a VAT breakdown entry.

    19, 19.0 and 19.00 are one rate, and a missing rate is 0 in the categories of rate 0.
    """
    if category == "O":
        return category, None  # BR-O-05: no rate, and a stated 0 means the same.
    value = comparable_rate(category, rate)
    return category, None if value is None else value.normalize()


@check("GL_ACCOUNT_MISSING", family=FAMILY, severity=Severity.BLOCK)
def gl_account_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for line in draft.document.lines:
        if line.gl_account.strip():
            continue
        version, contracted_line = matching_contract_line(context, draft, line)
        expected = "a GL account"
        if contracted_line is not None and contracted_line.gl_account:
            expected = f"GL account {contracted_line.gl_account} of contract line {line.item_id}"
        yield Observation(
            subject=f"line {line.line_id}",
            message=f"line {line.line_id} ({line.description}) has no GL account to post to",
            expected=expected,
            actual="(empty)",
            amount_at_stake=at_stake(draft, line.net_amount),
            evidence={**context.contract_evidence(version), "line": line.line_id},
        )


@check("GL_ACCOUNT_UNKNOWN", family=FAMILY, severity=Severity.BLOCK)
def gl_account_unknown(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    for line in draft.document.lines:
        code = line.gl_account.strip()
        if not code:
            continue  # GL_ACCOUNT_MISSING reports it.
        account = context.gl_accounts.get(code)
        if account is not None and not account.is_closed:
            continue
        version = context.version_on(draft.line_start(line))
        if account is None:
            message = (
                f"line {line.line_id} posts to GL account {code}, which is not in the chart "
                "of accounts"
            )
            actual = f"{code} (not found)"
        else:
            message = f"line {line.line_id} posts to GL account {account}, which is closed"
            actual = f"{account} (closed)"
        yield Observation(
            subject=f"line {line.line_id}",
            message=message,
            expected="an open account of the chart of accounts",
            actual=actual,
            amount_at_stake=at_stake(draft, line.net_amount),
            evidence={
                **context.contract_evidence(version),
                "line": line.line_id,
                "gl_account": code,
            },
        )


@check("TOTALS_INCONSISTENT", family=FAMILY, severity=Severity.BLOCK, needs_contract=False)
def totals_inconsistent(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """Compare the VAT breakdown and the totals with what EN 16931 computes from the line net
    amounts, allowances and charges that the draft states.

    The VAT total (BT-110) must be the sum of the breakdown's tax amounts that pass BR-CO-17,
    with the computed amount in place of one that does not. So a wrong tax amount whose
    totals are right is reported once, on itself.
    """
    document = draft.document
    evidence = context.contract_evidence(context.version_on(draft.service_start))
    try:
        computed = compute_tax_breakdown(
            document.lines, document.allowances_charges, document.currency
        )
    except InvalidInput as error:
        yield Observation(
            subject="invoice",
            message=f"the VAT breakdown and totals cannot be recomputed: {error}",
            expected="a VAT breakdown and totals computed by EN 16931 rules",
            actual=error.message,
            amount_at_stake=invoice_total(draft),
            evidence={**evidence, "place": error.place or ""},
        )
        return

    findings, accepted = review_breakdown(draft, computed, evidence)
    yield from findings
    totals = compute_totals(
        document.lines,
        document.allowances_charges,
        accepted,
        document.currency,
        prepaid=document.totals.prepaid,
        rounding_amount=document.totals.rounding,
    )
    yield from totals_disagreements(draft, totals, evidence)


def review_breakdown(
    draft: Draft, computed: list[TaxSubtotal], evidence: dict[str, str]
) -> tuple[list[Observation], list[TaxSubtotal]]:
    """Compare each VAT breakdown entry (BG-23) with the one computed from the lines.

    Returns the findings and the breakdown that the totals are checked against: each stated
    amount that passes its rule, and the computed amount in place of one that does not. An
    entry missing on either side counts as amounts of 0, so a missing or an extra entry shows
    as a taxable amount (BT-116) and a tax amount (BT-117) that disagree.
    """
    stated: dict[tuple[str, Decimal | None], list[TaxSubtotal]] = {}
    for subtotal in draft.document.tax_subtotals:
        key = breakdown_key(subtotal.category.strip().upper(), subtotal.rate)
        stated.setdefault(key, []).append(subtotal)
    expected = {breakdown_key(s.category, s.rate): s for s in computed}

    findings = []
    for key, entries in stated.items():
        if len(entries) > 1:
            findings.append(
                Observation(
                    subject=f"VAT breakdown {describe_key(key)}",
                    message=(
                        f"the VAT breakdown lists category {describe_key(key)} {len(entries)} "
                        "times, but it has one entry per VAT category and rate"
                    ),
                    expected="1 entry",
                    actual=f"{len(entries)} entries",
                    amount_at_stake=invoice_total(draft),
                    evidence=evidence,
                )
            )

    accepted = []
    for key in [*expected, *(k for k in stated if k not in expected)]:
        entries = stated.get(key, [])
        computed_entry = expected.get(key)
        review = BreakdownReview.of(key, entries, computed_entry, draft.document.currency)
        findings.extend(review.observations(draft, evidence))
        if review.accepted is not None:
            accepted.append(review.accepted)
    return findings, accepted


@dataclass(frozen=True)
class BreakdownReview:
    """One VAT category and rate of the breakdown: the amounts the draft states, the amounts
    the lines give, and whether each stated amount passes its EN 16931 rule."""

    key: tuple[str, Decimal | None]
    stated_entries: int
    stated_taxable: Decimal
    stated_tax: Decimal
    expected_taxable: Decimal
    expected_tax: Decimal
    taxable_ok: bool
    tax_ok: bool
    accepted: TaxSubtotal | None  # the entry the totals are checked against; None adds 0

    @classmethod
    def of(
        cls,
        key: tuple[str, Decimal | None],
        entries: list[TaxSubtotal],
        computed: TaxSubtotal | None,
        currency: str,
    ) -> BreakdownReview:
        stated_taxable = sum((entry.taxable_amount for entry in entries), Decimal(0))
        stated_tax = sum((entry.tax_amount for entry in entries), Decimal(0))
        if computed is None:
            # No line, allowance or charge has this category and rate, so its amounts are 0.
            return cls(
                key=key,
                stated_entries=len(entries),
                stated_taxable=stated_taxable,
                stated_tax=stated_tax,
                expected_taxable=Decimal(0),
                expected_tax=Decimal(0),
                taxable_ok=stated_taxable == 0,
                tax_ok=stated_tax == 0,
                accepted=None,
            )

        if not entries:
            # The entry is missing, so its amounts are 0 and differ unless the lines give 0.
            return cls(
                key=key,
                stated_entries=0,
                stated_taxable=Decimal(0),
                stated_tax=Decimal(0),
                expected_taxable=computed.taxable_amount,
                expected_tax=computed.tax_amount,
                taxable_ok=computed.taxable_amount == 0,
                tax_ok=computed.tax_amount == 0,
                accepted=computed,
            )

        taxable_ok = taxable_amount_accepted(key[0], stated_taxable, computed.taxable_amount)
        # BR-CO-17 relates the stated tax amount to the stated taxable amount, when that passes.
        base = stated_taxable if taxable_ok else computed.taxable_amount
        expected_tax = category_tax_amount(base, computed.rate, currency)
        tax_ok = tax_amount_accepted(computed.rate, stated_tax, expected_tax)
        return cls(
            key=key,
            stated_entries=len(entries),
            stated_taxable=stated_taxable,
            stated_tax=stated_tax,
            expected_taxable=computed.taxable_amount,
            expected_tax=expected_tax,
            taxable_ok=taxable_ok,
            tax_ok=tax_ok,
            accepted=dataclasses.replace(
                computed, taxable_amount=base, tax_amount=stated_tax if tax_ok else expected_tax
            ),
        )

    def observations(self, draft: Draft, evidence: dict[str, str]) -> Iterator[Observation]:
        category = self.key[0]
        taxable_rule = TAXABLE_AMOUNT_RULES.get(category, "BG-23")
        for ok, should_be, states, business_term, label, rule in (
            (
                self.taxable_ok,
                self.expected_taxable,
                self.stated_taxable,
                "BT-116",
                "taxable amount",
                taxable_rule,
            ),
            (self.tax_ok, self.expected_tax, self.stated_tax, "BT-117", "tax amount", "BR-CO-17"),
        ):
            if ok:
                continue
            name = describe_key(self.key)
            if not self.stated_entries:
                message = (
                    f"the VAT breakdown has no entry for category {name}, whose {label} "
                    f"({business_term}) is {should_be} ({rule})"
                )
            elif self.accepted is None:
                message = (
                    f"the VAT breakdown states a {label} ({business_term}) of {states} for "
                    f"category {name}, which no line or document allowance or charge has "
                    f"({rule})"
                )
            else:
                message = (
                    f"the {label} ({business_term}) of category {name} is {should_be}, but "
                    f"the draft states {states} ({rule})"
                )
            yield Observation(
                subject=f"VAT breakdown {name}",
                message=message,
                expected=str(should_be),
                actual=str(states),
                amount_at_stake=at_stake(draft, abs(should_be - states)),
                evidence={**evidence, "business_term": business_term, "rule": rule},
            )


def describe_key(key: tuple[str, Decimal | None]) -> str:
    category, rate = key
    if rate is None:
        return f"{category} without rate"
    return f"{category} at {format_rate(category, rate)}"


def describe_lines(line_ids: list[str]) -> str:
    return f"line {line_ids[0]}" if len(line_ids) == 1 else f"lines {', '.join(line_ids)}"


def totals_disagreements(
    draft: Draft, computed: Totals, evidence: dict[str, str]
) -> Iterator[Observation]:
    for total in TOTAL_FIELDS:
        should_be = getattr(computed, total.attribute)
        states = getattr(draft.document.totals, total.attribute)
        if should_be == states:
            continue
        yield Observation(
            subject="totals",
            message=(
                f"the {total.label} ({total.business_term}) is {should_be} by EN 16931 rule "
                f"{total.rule}, but the draft states {states}"
            ),
            expected=str(should_be),
            actual=str(states),
            amount_at_stake=at_stake(draft, abs(should_be - states)),
            evidence={**evidence, "business_term": total.business_term, "rule": total.rule},
        )


@check("LINE_NET_INCONSISTENT", family=FAMILY, severity=Severity.BLOCK)
def line_net_inconsistent(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    """BR-LIN-04: net amount = quantity x net price / base quantity - allowances + charges.

    A billing-run draft must state the amount rounded HALF_UP, which is how Billguard drafts
    it. A draft from another system may differ by what rounding explains
    (line_net_explained_by_rounding).
    """
    currency = draft.document.currency
    exact = draft.origin == "billing_run"
    evidence = context.contract_evidence(context.version_on(draft.service_start))
    for line in draft.document.lines:
        subject = f"line {line.line_id}"
        try:
            expected = recompute_line_net_amount(line, currency)
            consistent = (
                expected == line.net_amount
                if exact
                else line_net_explained_by_rounding(line, currency)
            )
        except InvalidInput as error:
            yield Observation(
                subject=subject,
                message=(
                    f"the net amount (BT-131) of line {line.line_id} cannot be recomputed: {error}"
                ),
                expected="a net amount computed by BR-LIN-04",
                actual=str(line.net_amount),
                amount_at_stake=at_stake(draft, line.net_amount),
                evidence={**evidence, "line": line.line_id, "business_term": "BT-131"},
            )
            continue
        if consistent:
            continue
        adjustments = sum(
            (item.amount if item.is_charge else -item.amount for item in line.allowances_charges),
            Decimal(0),
        )
        yield Observation(
            subject=subject,
            message=(
                f"line {line.line_id} states a net amount (BT-131) of {line.net_amount}, but "
                f"quantity {plain(line.quantity)} x price {plain(line.unit_price)} / base "
                f"quantity {plain(line.price_base_quantity)} with allowances and charges of "
                f"{adjustments} gives {expected} (BR-LIN-04)"
            ),
            expected=str(expected),
            actual=str(line.net_amount),
            amount_at_stake=at_stake(draft, abs(expected - line.net_amount)),
            evidence={**evidence, "line": line.line_id, "business_term": "BT-131"},
        )


@check("CURRENCY_MISMATCH", family=FAMILY, severity=Severity.BLOCK)
def currency_mismatch(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    currency = draft.document.currency
    # Every version in force on a line's service date: an amendment can change the currency
    # inside the period that one draft covers.
    versions: dict[int, ContractVersion] = {}
    for day in [draft.service_start, *(draft.line_start(line) for line in draft.document.lines)]:
        version = context.version_on(day)
        if version is not None:
            versions.setdefault(version.pk, version)

    for version in versions.values():
        if version.currency == currency:
            continue
        yield Observation(
            subject="invoice",
            message=(
                f"the draft is in {currency or '(no currency)'}, but contract "
                f"{context.contract.number} version {version.version_number} is in "
                f"{version.currency}"
            ),
            expected=version.currency,
            actual=currency or "(empty)",
            amount_at_stake=invoice_total(draft),
            evidence=context.contract_evidence(version),
        )
