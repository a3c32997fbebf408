"""The sample company's controls at work that are not faults: requests waiting for a decision.

Sales asks for a discount that needs a finance approver, an approver hands their approvals to a
colleague for a week around the as-of date, and sales asks for approval of the bespoke contract
so that it can be activated. None of them changes what the November run bills.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User

from billguard.controls.delegations import delegation_create
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.requests import change_request_create
from billguard.registry.models import Contract, ContractLine
from billguard.registry.services.contracts import contract_request_bespoke_approval
from billguard.sample.calendar import AS_OF
from billguard.sample.plans import Book, ContractPlan

# A discount above 10 percent needs a finance approver under the default policy.
REQUESTED_DISCOUNT_PERCENT = "12"
DISCOUNT_LINE_CODE = "SEATS"
DISCOUNT_EFFECTIVE_FROM = dt.date(2026, 12, 1)
DELEGATION_DAYS_BEFORE_AS_OF = 3
DELEGATION_DAYS_AFTER_AS_OF = 3


def controls_state_create(book: Book) -> None:
    """Write the pending discount request, the delegation and the bespoke approval request."""
    sales = User.objects.get(username="sam.sales")
    discount_request_create(book, by=sales)
    delegation_create(
        by=User.objects.get(username="alex.approver"),
        delegate=User.objects.get(username="blake.approver"),
        starts_on=AS_OF - dt.timedelta(days=DELEGATION_DAYS_BEFORE_AS_OF),
        ends_on=AS_OF + dt.timedelta(days=DELEGATION_DAYS_AFTER_AS_OF),
        reason="Away at the year-end planning offsite.",
        today=AS_OF,
    )
    [bespoke] = [plan for plan in book.contracts if plan.role == "bespoke"]
    contract_request_bespoke_approval(
        contract=Contract.objects.get(number=bespoke.number),
        by=sales,
        reason="The customer insists on its own liquidated damages and termination clauses.",
    )


def discount_request_create(book: Book, *, by: User) -> ChangeRequest:
    """Ask for a 12 % seat discount from December on the first regular contract that has seats."""
    plan = _discount_contract(book)
    contract = Contract.objects.get(number=plan.number)
    return change_request_create(
        by=by,
        target=Target.CONTRACT,
        target_id=contract.pk,
        changes={
            "discounts": [{"percent": REQUESTED_DISCOUNT_PERCENT, "line_code": DISCOUNT_LINE_CODE}]
        },
        reason="Renewal negotiation: the customer adds a second team in December.",
        effective_from=DISCOUNT_EFFECTIVE_FROM,
    )


def _discount_contract(book: Book) -> ContractPlan:
    """Return the regular contract, lowest number first, with a seat line, no discount and no
    amendment, so that the request is the only change waiting on its terms."""
    regular = sorted(
        (
            plan
            for plan in book.contracts
            if not plan.role and not plan.terms.discounts and not plan.amendments
        ),
        key=lambda plan: plan.number,
    )
    with_seats = set(
        ContractLine.objects.filter(
            line_code=DISCOUNT_LINE_CODE,
            version__contract__number__in=[plan.number for plan in regular],
            version__contract__status=Contract.Status.ACTIVE,
        ).values_list("version__contract__number", flat=True)
    )
    return next(plan for plan in regular if plan.number in with_seats)
