"""The rules a party merge applies to each foreign key that points at a party.

Every relation to :class:`Party` is found by introspection, hidden ones (``related_name="+"``)
included, and each must have a rule here: re-point its rows from the merged party to the
survivor, or keep them on the merged party for a stated reason. A relation with no rule stops
the merge (:func:`relations_unruled`), so that a model added later is never silently left
pointing at an archived party.

The ids of the re-pointed rows are stored on the merge by ``<app>.<model>.<field>``, so that
an undo restores exactly those rows and no others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from django.db import models

from billguard.procurement.models import (
    MatchTolerance,
    OnboardingItem,
    VendorInvoice,
    VendorProfile,
)
from billguard.registry.models import DuplicateCandidate, Party, VendorBankAccount

# Extra keys of PartyMerge.repointed besides the relations: bank accounts no longer primary
# because the survivor has its own primary account, and the candidate pair marked merged.
PRIMARY_DEMOTED = "registry.vendorbankaccount.is_primary"
CANDIDATE_MERGED = "registry.duplicatecandidate.status"
# Vendor invoice statuses that mean paid. Billguard records no payment yet, so today every
# vendor invoice moves; a status added under one of these names stays with the merged party.
VENDOR_INVOICE_PAID_STATUSES = ("paid",)


@dataclass(frozen=True)
class Relation:
    """One foreign key to Party: ``label`` is ``<app>.<model>.<field>``."""

    label: str
    model: type[models.Model]
    field_name: str


@dataclass(frozen=True)
class RelationRule:
    """The treatment of one relation's rows by a merge.

    ``repoint`` is False for a relation kept whole on the merged party. ``exclude`` returns
    the rows of the merged party that stay where they are although the relation is
    re-pointed (a conflict with the survivor's own row), and ``reason`` gives the reason
    that rows stay.
    """

    repoint: bool
    reason: str
    exclude: Callable[[Party, Party], models.QuerySet[models.Model]] | None = field(default=None)


def party_relations() -> list[Relation]:
    """Return every foreign key and one-to-one field to Party, in a stable order."""
    relations = []
    for related in Party._meta.get_fields(include_hidden=True):
        if not (related.auto_created and not related.concrete and related.is_relation):
            continue
        # Once the app registry is ready, every reverse relation names its model class.
        model = cast(type[models.Model], related.related_model)
        field_name = related.field.name  # type: ignore[union-attr]
        relations.append(Relation(f"{model._meta.label_lower}.{field_name}", model, field_name))
    return sorted(relations, key=lambda relation: relation.label)


def relations_unruled() -> list[str]:
    """Return the labels of the relations to Party that have no rule in RELATION_RULES."""
    return [r.label for r in party_relations() if r.label not in RELATION_RULES]


def relation_rows(relation: Relation, survivor: Party, merged: Party) -> list[int]:
    """Return the ids of the merged party's rows of ``relation`` that the merge re-points."""
    rule = RELATION_RULES[relation.label]
    if not rule.repoint:
        return []
    rows = relation.model._default_manager.filter(**{relation.field_name: merged})
    if rule.exclude is not None:
        rows = rows.exclude(pk__in=rule.exclude(survivor, merged).values("pk"))
    if relation.model is Party:
        rows = rows.exclude(pk__in=(survivor.pk, merged.pk))
    return sorted(rows.values_list("pk", flat=True))


def relation_kept(relation: Relation, survivor: Party, merged: Party) -> list[int]:
    """Return the ids of the merged party's rows of ``relation`` that stay on it."""
    rule = RELATION_RULES[relation.label]
    rows = relation.model._default_manager.filter(**{relation.field_name: merged})
    if rule.repoint and rule.exclude is None:
        return []
    if rule.repoint and rule.exclude is not None:
        rows = rows.filter(pk__in=rule.exclude(survivor, merged).values("pk"))
    return sorted(rows.values_list("pk", flat=True))


def _onboarding_conflicts(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    taken = OnboardingItem.objects.filter(vendor=survivor).values("requirement")
    return OnboardingItem.objects.filter(vendor=merged, requirement__in=taken)


def _tolerance_conflicts(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    taken = MatchTolerance.objects.filter(vendor=survivor).values("category")
    return MatchTolerance.objects.filter(vendor=merged, category__in=taken)


def _profile_conflicts(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    if VendorProfile.objects.filter(vendor=survivor).exists():
        return VendorProfile.objects.filter(vendor=merged)
    return VendorProfile.objects.none()


def _template_rule_conflicts(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    # Imported here because the delivery app's models import the registry's.
    from billguard.delivery.models import TemplateRule

    conflicts = models.Q(pk__in=[])
    for rule in TemplateRule.objects.filter(party=survivor):
        conflicts |= models.Q(
            contract_type=rule.contract_type, language=rule.language, priority=rule.priority
        )
    return TemplateRule.objects.filter(conflicts, party=merged)


def _paid_vendor_invoices(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    return VendorInvoice.objects.filter(vendor=merged, status__in=VENDOR_INVOICE_PAID_STATUSES)


def _candidate_conflicts(survivor: Party, merged: Party) -> models.QuerySet[models.Model]:
    """Select the merged party's candidates that cannot move: the pair with the survivor
    itself, and those whose other party already has a candidate with the survivor."""
    with_survivor = set(
        DuplicateCandidate.objects.filter(party=survivor).values_list("other_party_id", flat=True)
    ) | set(
        DuplicateCandidate.objects.filter(other_party=survivor).values_list("party_id", flat=True)
    )
    with_survivor.add(survivor.pk)
    return DuplicateCandidate.objects.filter(
        models.Q(party=merged, other_party__in=with_survivor)
        | models.Q(other_party=merged, party__in=with_survivor)
    )


_CANDIDATE_RULE = RelationRule(
    repoint=True,
    reason="the survivor already has a candidate with the same other party, or the candidate "
    "pairs the two merged parties (it is marked merged instead)",
    exclude=_candidate_conflicts,
)
_MERGE_HISTORY = "a merge names the two parties it joined, so that it can be listed and undone"

# The rule of every relation to Party. A test fails when a relation has none.
RELATION_RULES: dict[str, RelationRule] = {
    "registry.party.merged_into": RelationRule(
        repoint=True,
        reason="parties merged earlier into the merged party then point at the survivor",
    ),
    "registry.billtoentity.party": RelationRule(
        repoint=True,
        reason="the bill-to entities move with their contracts; an issued invoice keeps its "
        "bill-to entity and the buyer details stored on it",
    ),
    "registry.contract.party": RelationRule(repoint=True, reason="every contract moves"),
    "registry.vendorbankaccount.party": RelationRule(
        repoint=True,
        reason="the bank accounts move; they stop being primary when the survivor has one",
    ),
    "registry.duplicatecandidate.party": _CANDIDATE_RULE,
    "registry.duplicatecandidate.other_party": _CANDIDATE_RULE,
    "registry.partymerge.survivor": RelationRule(repoint=False, reason=_MERGE_HISTORY),
    "registry.partymerge.merged": RelationRule(repoint=False, reason=_MERGE_HISTORY),
    "procurement.purchaseorder.vendor": RelationRule(
        repoint=True, reason="every purchase order moves"
    ),
    "procurement.vendorinvoice.vendor": RelationRule(
        repoint=True,
        reason="a paid vendor invoice stays as it was paid",
        exclude=_paid_vendor_invoices,
    ),
    "procurement.costlink.vendor": RelationRule(repoint=True, reason="every cost link moves"),
    "procurement.vendorcertification.vendor": RelationRule(
        repoint=True, reason="every certification moves"
    ),
    "procurement.onboardingitem.vendor": RelationRule(
        repoint=True,
        reason="the survivor's own item for the same requirement stands",
        exclude=_onboarding_conflicts,
    ),
    "procurement.matchtolerance.vendor": RelationRule(
        repoint=True,
        reason="the survivor's own tolerance for the same category stands",
        exclude=_tolerance_conflicts,
    ),
    "procurement.vendorprofile.vendor": RelationRule(
        repoint=True,
        reason="a vendor has one profile, and the survivor's own profile stands",
        exclude=_profile_conflicts,
    ),
    "receivables.payment.customer": RelationRule(
        repoint=True,
        reason="payments move with the contracts, whose invoices they pay",
    ),
    "delivery.templaterule.party": RelationRule(
        repoint=True,
        reason="the survivor's own rule with the same criteria and priority stands, because "
        "the two would tie",
        exclude=_template_rule_conflicts,
    ),
    "procurement.vendorscore.vendor": RelationRule(
        repoint=False,
        reason="scores are computed per period from the vendor's orders and invoices; the next "
        "computation scores the survivor from the re-pointed records",
    ),
    "history.importedinvoice.party": RelationRule(
        repoint=True,
        reason="imported invoices and credit notes follow their customer, so the leakage audit "
        "finds them under the survivor",
    ),
    "history.importedpayment.party": RelationRule(
        repoint=True, reason="imported payments follow their customer"
    ),
}


def bank_accounts_to_demote(survivor: Party, account_ids: list[int]) -> list[int]:
    """Return the primary accounts among ``account_ids`` that must stop being primary, because
    the survivor already has a primary account and a vendor has one."""
    if not VendorBankAccount.objects.filter(party=survivor, is_primary=True).exists():
        return []
    return sorted(
        VendorBankAccount.objects.filter(pk__in=account_ids, is_primary=True).values_list(
            "pk", flat=True
        )
    )


def candidate_pair(first_id: int, second_id: int) -> dict[str, int]:
    """Return the fields of a candidate for two parties, lower id first as the table requires."""
    low, high = sorted((first_id, second_id))
    return {"party_id": low, "other_party_id": high}


def relation_reasons() -> dict[str, str]:
    """Return each relation's rule as text: re-pointed or kept, and why."""
    return {
        label: ("re-pointed" if rule.repoint else "kept") + f": {rule.reason}"
        for label, rule in sorted(RELATION_RULES.items())
    }
