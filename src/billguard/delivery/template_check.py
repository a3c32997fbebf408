"""TEMPLATE_NOT_FOUND: a draft of the billing run that no template rule gives a PDF layout.

Such a draft is held rather than sent on a default layout, because the template carries the
texts a customer is owed (language, payment instructions). Drafts of other systems checked in
guard mode are not rendered here and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.completeness import invoice_total
from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.delivery.templates import DraftKey, TemplateTie

FAMILY = "delivery"


@check("TEMPLATE_NOT_FOUND", family=FAMILY, severity=Severity.BLOCK)
def template_not_found(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    catalog = context.template_catalog
    # NOTE: a database without any template rule has not set up invoice PDFs yet, so the
    # check stays off there. The deliveries of its invoices fail until a rule exists.
    if catalog is None or not catalog.rules or draft.origin != "billing_run":
        return
    key = draft_key_of(context)
    try:
        template = catalog.choose(key)
    except TemplateTie as tie:
        yield Observation(
            subject="invoice template",
            message=f"no invoice template chosen: {tie.args[0]} {tie.fix}",
            expected="one best template rule",
            actual="two rules tie",
            amount_at_stake=invoice_total(draft),
            evidence=_evidence(context, key),
        )
        return
    if template is not None:
        return
    yield Observation(
        subject="invoice template",
        message=(
            f"no invoice template rule matches {key.describe()}. Add a rule with "
            "`billguard invoice-templates rule-add` for this customer, contract type or "
            "language, then run the period again"
        ),
        expected="a template rule that matches",
        actual="no rule",
        amount_at_stake=invoice_total(draft),
        evidence=_evidence(context, key),
    )


def draft_key_of(context: CheckContext) -> DraftKey:
    """Return what the template rules match on for the draft of ``context``."""
    party = None
    if context.bill_to is not None:
        party = context.bill_to.party
    elif context.contract is not None:
        party = context.contract.party
    return DraftKey(
        party_id=party.pk if party is not None else None,
        party_code=party.code if party is not None else "",
        contract_type=context.contract.contract_type if context.contract is not None else "",
        language=context.invoice_language,
    )


def _evidence(context: CheckContext, key: DraftKey) -> dict[str, str]:
    evidence = {
        "customer": key.party_code,
        "contract_type": key.contract_type,
        "language": key.language,
    }
    if context.contract is not None:
        evidence["contract"] = context.contract.number
    return evidence
