"""Invoice templates and the rules that choose one for each invoice.

A rule matches a draft when each of its criteria that is set (customer party, contract type,
language) equals the draft's. Among the matching rules, the most specific wins: a rule naming
the customer beats one naming the contract type, which beats one naming only the language,
and a rule with more criteria beats one with fewer at the same level. Then the higher
priority wins. Two matching rules with the same criteria and priority are a tie, and no
template is chosen: ``rule_add`` rejects such a rule, and ``TemplateCatalog.choose`` raises
for one written another way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.delivery.models import InvoiceTemplate, InvoicingContact, TemplateRule
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.registry.models import Party
from billguard.registry.models.contracts import ContractType

logger = logging.getLogger(__name__)

LANGUAGE_PATTERN = re.compile(r"^[a-z]{2}$")
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
TEMPLATE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class TemplateTie(RuleViolation):
    """Two template rules match a draft equally well."""

    code = "TEMPLATE_RULES_TIED"


@dataclass(frozen=True)
class DraftKey:
    """The criteria a template rule matches: customer party, contract type and language."""

    party_id: int | None
    party_code: str
    contract_type: str
    language: str

    def describe(self) -> str:
        return (
            f"customer {self.party_code or '(none)'}, contract type "
            f"{self.contract_type or '(none)'}, language {self.language or '(none)'}"
        )


@dataclass(frozen=True)
class TemplateCatalog:
    """Every template rule with its template, loaded once for many drafts."""

    rules: tuple[TemplateRule, ...]

    def choose(self, key: DraftKey) -> InvoiceTemplate | None:
        """Return the template of the best rule matching ``key``, None when no rule matches.

        Raises TemplateTie, naming both rules, when the two best rules are equally good.
        """
        matching = [rule for rule in self.rules if _matches(rule, key)]
        if not matching:
            return None
        ranked = sorted(matching, key=_rank, reverse=True)
        best = ranked[0]
        if len(ranked) > 1 and _rank(ranked[1]) == _rank(best):
            second = ranked[1]
            raise TemplateTie(
                f"template rules {best.pk} ({best.template.code}) and {second.pk} "
                f"({second.template.code}) match {key.describe()} equally well.",
                place="template rule",
                value=f"{best.pk}, {second.pk}",
                fix="Give one of them a higher priority, or delete one.",
            )
        return best.template


def template_catalog_load() -> TemplateCatalog:
    """Load every template rule with its template and party."""
    rules = TemplateRule.objects.select_related("template", "party").order_by("pk")
    return TemplateCatalog(rules=tuple(rules))


def invoice_languages(bill_to_ids: Iterable[int]) -> dict[int, str]:
    """Return the invoice language of each bill-to entity: its first invoicing contact's.

    A bill-to entity without invoicing contacts is left out; its invoices have no language.
    """
    languages: dict[int, str] = {}
    contacts = InvoicingContact.objects.filter(bill_to_id__in=set(bill_to_ids)).order_by(
        "bill_to_id", "position", "pk"
    )
    for bill_to_id, language in contacts.values_list("bill_to_id", "language"):
        languages.setdefault(bill_to_id, language)
    return languages


@transaction.atomic
def template_add(
    *,
    by: User,
    code: str,
    name: str,
    language: str,
    title: str = "Invoice",
    credit_note_title: str = "Credit note",
    header_text: str = "",
    footer_text: str = "",
    payment_instructions: str = "",
    accent_color: str = "#1F4E79",
) -> InvoiceTemplate:
    """Create an invoice template."""
    authorize(by, "seller_entity_manage")

    code = code.strip()
    if not TEMPLATE_CODE_PATTERN.match(code):
        raise InvalidInput(
            f"template code {code!r} is not valid.",
            place="code",
            value=code,
            fix="Use 1 to 40 letters, digits, dots, dashes or underscores, such as STD-EN.",
        )
    if InvoiceTemplate.objects.filter(code=code).exists():
        raise RuleViolation(
            f"template {code} already exists.",
            place="code",
            value=code,
            fix="Choose another code.",
        )
    language = language_validate(language, place="language")
    if not COLOR_PATTERN.match(accent_color):
        raise InvalidInput(
            f"accent colour {accent_color!r} is not a #RRGGBB colour.",
            place="accent_color",
            value=accent_color,
            fix="Give six hexadecimal digits after #, such as #1F4E79.",
        )
    if not name.strip():
        raise InvalidInput("the template name is empty.", place="name", fix="Give a name.")
    template = InvoiceTemplate.objects.create(
        code=code,
        name=name.strip(),
        language=language,
        title=title.strip() or "Invoice",
        credit_note_title=credit_note_title.strip() or "Credit note",
        header_text=header_text,
        footer_text=footer_text,
        payment_instructions=payment_instructions,
        accent_color=accent_color.upper(),
    )
    audit_record(
        actor=by.get_username(),
        action="invoice_template.add",
        record=template,
        before=None,
        after={"code": code, "name": template.name, "language": language},
    )
    logger.info("invoice template %s added by %s", code, by.get_username())
    return template


@transaction.atomic
def rule_add(
    *,
    by: User,
    template_code: str,
    priority: int = 0,
    customer: str = "",
    contract_type: str = "",
    language: str = "",
) -> TemplateRule:
    """Create a template rule; ``customer`` is a customer party code, each criterion optional.

    Raises RuleViolation when a rule with the same criteria and priority exists, because the
    two would tie on every draft they match.
    """
    authorize(by, "seller_entity_manage")
    template = InvoiceTemplate.objects.filter(code=template_code.strip()).first()
    if template is None:
        raise NotFound(
            f"invoice template {template_code!r} not found.",
            place="template",
            value=template_code,
            fix="See `billguard invoice-templates list`, or add it with "
            "`billguard invoice-templates add`.",
        )
    party = None
    if customer.strip():
        party = Party.objects.filter(code=customer.strip(), kind=Party.Kind.CUSTOMER).first()
        if party is None:
            raise NotFound(
                f"customer {customer!r} not found.",
                place="customer",
                value=customer,
                fix="Give the code of a customer party (see `billguard parties list`).",
            )
    contract_type = contract_type.strip().lower()
    if contract_type and contract_type not in ContractType.values:
        raise InvalidInput(
            f"contract type {contract_type!r} is unknown.",
            place="contract_type",
            value=contract_type,
            fix=f"Use one of: {', '.join(ContractType.values)}.",
        )
    language = language_validate(language, place="language") if language.strip() else ""
    same = TemplateRule.objects.filter(
        party=party, contract_type=contract_type, language=language, priority=priority
    ).first()
    if same is not None:
        raise RuleViolation(
            f"template rule {same.pk} already matches the same customer, contract type and "
            f"language at priority {priority}, so the two would tie.",
            place="priority",
            value=str(priority),
            fix="Give the new rule another priority.",
        )
    rule = TemplateRule.objects.create(
        priority=priority,
        party=party,
        contract_type=contract_type,
        language=language,
        template=template,
    )
    audit_record(
        actor=by.get_username(),
        action="invoice_template.rule_add",
        record=rule,
        before=None,
        after={
            "template": template.code,
            "priority": priority,
            "customer": party.code if party else "",
            "contract_type": contract_type,
            "language": language,
        },
    )
    logger.info("template rule %s for %s added by %s", rule.pk, template.code, by.get_username())
    return rule


def language_validate(language: str, *, place: str) -> str:
    """Return ``language`` in lower case, or raise InvalidInput unless it is ISO 639-1 shaped."""
    cleaned = language.strip().lower()
    if not LANGUAGE_PATTERN.match(cleaned):
        raise InvalidInput(
            f"language {language!r} is not a two-letter ISO 639-1 code.",
            place=place,
            value=language,
            fix="Give a code such as en, de or fr.",
        )
    return cleaned


def _matches(rule: TemplateRule, key: DraftKey) -> bool:
    if rule.party_id is not None and rule.party_id != key.party_id:
        return False
    if rule.contract_type and rule.contract_type != key.contract_type:
        return False
    return not (rule.language and rule.language != key.language)


def _rank(rule: TemplateRule) -> tuple[bool, bool, bool, int]:
    """Order rules by specificity (customer, then contract type, then language), then priority."""
    return (rule.party_id is not None, bool(rule.contract_type), bool(rule.language), rule.priority)
