"""Vendor onboarding: a vendor's profile, its checklist items, and whether they are complete.

The control policy's section ``vendor_onboarding`` lists the required items. Legal review, the
tax classification form and the insurance certificate are recorded here, the forms and
certificates as stored documents. Bank details are done once the vendor has an approved
primary bank account, which only a change request of the target ``vendor`` creates (two
finance approvers under the default policy). Payment terms are done once the profile has them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.policy import vendor_onboarding_required
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.procurement.context import OnboardingStatus
from billguard.procurement.models import OnboardingItem, VendorProfile
from billguard.registry.models import Document, Party, VendorBankAccount
from billguard.registry.services.documents import document_store

logger = logging.getLogger(__name__)

Requirement = OnboardingItem.Requirement
TaxForm = VendorProfile.TaxForm

# The checklist items recorded with vendor_item_record. The other two follow other records.
RECORDED_REQUIREMENTS = (
    Requirement.LEGAL_REVIEW,
    Requirement.TAX_FORM,
    Requirement.INSURANCE_CERTIFICATE,
)
# The checklist items backed by a document that expires.
DOCUMENT_REQUIREMENTS = {
    Requirement.TAX_FORM: Document.Kind.TAX_FORM,
    Requirement.INSURANCE_CERTIFICATE: Document.Kind.INSURANCE_CERTIFICATE,
}
IRS_FORMS = (TaxForm.W9, TaxForm.W8BEN, TaxForm.W8BENE)
# Payment terms beyond a year are taken for a typing error.
MAX_PAYMENT_TERMS_DAYS = 365


@dataclass(frozen=True)
class ChecklistItem:
    """The state of one checklist item of a vendor on a date.

    ``state`` is done, pending, rejected or expired, and ``detail`` gives the reason briefly.
    """

    requirement: str
    label: str
    required: bool
    state: str
    detail: str = ""
    expires_on: dt.date | None = None
    document_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "requirement": self.requirement,
            "label": self.label,
            "required": self.required,
            "state": self.state,
            "detail": self.detail,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "document_id": self.document_id,
        }


def vendor_by_code(code: str) -> Party:
    """Return the vendor party with ``code``; raise NotFound, or InvalidInput for a customer."""
    party = Party.objects.filter(code=code.strip()).first()
    if party is None:
        raise NotFound(
            f"vendor {code!r} was not found.",
            place="VENDOR",
            value=code,
            fix="Give the code of a vendor party; `billguard vendors list` shows them.",
        )
    require_vendor(party)
    return party


def require_vendor(party: Party) -> None:
    """Raise InvalidInput unless ``party`` is a vendor that was not merged into another."""
    if party.kind != Party.Kind.VENDOR:
        raise InvalidInput(
            f"party {party.code} is a {party.kind}, not a vendor.",
            place="VENDOR",
            value=party.code,
            fix="Onboarding applies to parties of kind vendor only.",
        )
    if party.merged_into_id is not None:
        survivor = party.merged_into
        into = f"{survivor.code} ({survivor.name})" if survivor is not None else "another party"
        raise InvalidInput(
            f"vendor {party.code} was merged into {into}.",
            place="VENDOR",
            value=party.code,
            fix=f"Use {survivor.code if survivor is not None else 'that party'} instead.",
        )


def vendor_profile_set(
    *,
    vendor: Party,
    by: User | None,
    category: str | None = None,
    payment_terms_days: int | None = None,
    tax_classification: str | None = None,
    vat_number: str | None = None,
    today: dt.date | None = None,
) -> VendorProfile:
    """Set the profile fields given (None leaves a field as it is) and return the profile.

    An EU VAT number is checked with python-stdnum (``stdnum.eu.vat``: format and check
    digits) and stored with the verdict, so an invalid number keeps the tax form item pending.
    A change of tax classification sets a recorded tax form back to pending, because the form
    on file is then the wrong one. With ``by``, the user must hold the action vendor_onboard;
    without it the write is recorded as the system's.
    """
    if by is not None:
        authorize(by, "vendor_onboard")
    require_vendor(vendor)
    if all(
        value is None for value in (category, payment_terms_days, tax_classification, vat_number)
    ):
        raise InvalidInput(
            f"nothing to set in the profile of vendor {vendor.code}.",
            place="VENDOR",
            value=vendor.code,
            fix="Give at least one of --category, --payment-terms, --tax-form or --vat-number.",
        )
    _validate_profile(
        category=category,
        payment_terms_days=payment_terms_days,
        tax_classification=tax_classification,
        vat_number=vat_number,
    )

    with transaction.atomic():
        profile, _ = VendorProfile.objects.select_for_update().get_or_create(vendor=vendor)
        before = _profile_values(profile)
        old_classification = profile.tax_classification
        if category is not None:
            profile.category = category.strip()
        if payment_terms_days is not None:
            profile.payment_terms_days = payment_terms_days
        classification_changed = (
            tax_classification is not None and tax_classification != profile.tax_classification
        )
        if tax_classification is not None:
            profile.tax_classification = tax_classification
        if vat_number is not None and profile.tax_classification != TaxForm.EU_VAT:
            raise InvalidInput(
                f"vendor {vendor.code} is not classified by an EU VAT number, so it takes none.",
                place="--vat-number",
                value=vat_number,
                fix="Leave the VAT number out, or set the tax classification to eu_vat.",
            )
        if profile.tax_classification != TaxForm.EU_VAT:
            profile.vat_number, profile.vat_number_valid, profile.vat_number_error = "", None, ""
        elif vat_number is not None:
            _vat_number_check(profile, vat_number)
        if profile.tax_classification == TaxForm.EU_VAT and not profile.vat_number:
            raise InvalidInput(
                f"vendor {vendor.code} is classified by its EU VAT number, but none is given.",
                place="--vat-number",
                fix="Give the VAT number with its country prefix, such as DE136695976.",
            )
        profile.save()
        if classification_changed and old_classification:
            _tax_form_reopen(vendor, old_classification, profile.tax_classification)
        audit_record(
            actor=_actor(by),
            action="vendor_profile.set",
            record=profile,
            before=before,
            after=_profile_values(profile),
        )
        vendor_onboarding_refresh(vendor, today=today)
    logger.info("vendor %s profile set by %s", vendor.code, _actor(by))
    return profile


def vendor_item_record(
    *,
    vendor: Party,
    requirement: str,
    by: User | None,
    status: str = OnboardingItem.Status.DONE,
    note: str = "",
    content: bytes | None = None,
    file_name: str = "",
    signed_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    today: dt.date | None = None,
) -> OnboardingItem:
    """Record the outcome of one checklist item: legal review, tax form or insurance certificate.

    A tax form or insurance certificate marked done needs its file, stored as a Document of kind
    ``tax_form`` or ``insurance_certificate``. An insurance certificate needs its expiry date.
    A W-8BEN or W-8BEN-E without an expiry date expires on 31 December of the third year after
    the year it was signed (IRS Instructions for Form W-8BEN, "Expiration of Form W-8BEN").
    A document signed after ``today`` or already expired on ``today`` is rejected, because
    it cannot complete the checklist. A rejected item needs a note with the reason. With
    ``by``, the user must hold the action vendor_onboard.
    """
    if by is not None:
        authorize(by, "vendor_onboard")
    require_vendor(vendor)
    _validate_item(requirement=requirement, status=status, note=note)
    if content and status != OnboardingItem.Status.DONE:
        raise InvalidInput(
            f"a file is stored only with an item marked done, not {status}.",
            place="--file",
            fix="Leave the file out, or record the item as done.",
        )
    if content and requirement not in DOCUMENT_REQUIREMENTS:
        raise InvalidInput(
            f"the checklist item {requirement} takes no file.",
            place="--file",
            fix="Leave the file out, and give the outcome in the note.",
        )
    profile = VendorProfile.objects.filter(vendor=vendor).first()
    storing = status == OnboardingItem.Status.DONE and requirement in DOCUMENT_REQUIREMENTS
    if storing:
        given_expiry = expires_on
        expires_on = _document_expiry(
            vendor, requirement, profile, content, signed_on=signed_on, expires_on=expires_on
        )
        _document_dates_check(
            requirement,
            signed_on=signed_on,
            expires_on=expires_on,
            expiry_given=given_expiry is not None,
            today=today,
        )

    with transaction.atomic():
        item = (
            OnboardingItem.objects.select_for_update()
            .filter(vendor=vendor, requirement=requirement)
            .first()
        ) or OnboardingItem(vendor=vendor, requirement=requirement)
        before = _item_values(item) if item.pk else None
        document = None
        if storing:
            assert content is not None
            document = document_store(
                content=content,
                kind=DOCUMENT_REQUIREMENTS[Requirement(requirement)],
                family=f"{vendor.code}-{requirement}",
                title=_document_title(vendor, requirement, profile),
                file_name=file_name,
                signed_on=signed_on,
                expires_on=expires_on,
                by=by,
            )
        item.status = status
        item.note = note.strip()
        if document is not None:
            item.document = document
            item.expires_on = expires_on
        if status == OnboardingItem.Status.DONE:
            item.completed_by = _actor(by)
            item.completed_at = timezone.now()
        else:
            item.completed_by, item.completed_at = "", None
        item.save()
        audit_record(
            actor=_actor(by),
            action="onboarding_item.record",
            record=item,
            before=before,
            after=_item_values(item),
            reason=item.note,
        )
        vendor_onboarding_refresh(vendor, today=today)
    logger.info(
        "vendor %s onboarding item %s recorded as %s by %s",
        vendor.code,
        requirement,
        status,
        _actor(by),
    )
    return item


def onboarding_status(vendor: Party, on: dt.date) -> OnboardingStatus:
    """Return whether ``vendor``'s checklist is complete on ``on``.

    It is complete when every item the policy requires is done and no required document
    (tax form, insurance certificate) has expired. A document expires after its expiry date:
    it is still valid on that day.
    """
    return status_from_checklist(onboarding_checklist(vendor, on))


def status_from_checklist(items: list[ChecklistItem]) -> OnboardingStatus:
    required = [item for item in items if item.required]
    missing = tuple(item.label for item in required if item.state in ("pending", "rejected"))
    expired = tuple(
        (item.label, item.expires_on)
        for item in required
        if item.state == "expired" and item.expires_on is not None
    )
    return OnboardingStatus(
        complete=all(item.state == "done" for item in required), missing=missing, expired=expired
    )


def onboarding_checklist(vendor: Party, on: dt.date) -> list[ChecklistItem]:
    """Return every checklist item of ``vendor`` on ``on``, required or not, in policy order."""
    required = set(vendor_onboarding_required())
    profile = VendorProfile.objects.filter(vendor=vendor).first()
    items = {item.requirement: item for item in OnboardingItem.objects.filter(vendor=vendor)}
    states = {
        Requirement.LEGAL_REVIEW: _recorded_state(items.get(Requirement.LEGAL_REVIEW), on),
        Requirement.TAX_FORM: _tax_form_state(profile, items.get(Requirement.TAX_FORM), on),
        Requirement.INSURANCE_CERTIFICATE: _recorded_state(
            items.get(Requirement.INSURANCE_CERTIFICATE), on
        ),
        Requirement.BANK_DETAILS: _bank_details_state(vendor),
        Requirement.PAYMENT_TERMS: _payment_terms_state(profile),
    }
    return [
        ChecklistItem(
            requirement=requirement.value,
            label=str(requirement.label),
            required=requirement.value in required,
            state=state.state,
            detail=state.detail,
            expires_on=state.expires_on,
            document_id=state.document_id,
        )
        for requirement, state in states.items()
    ]


def vendor_onboarding_refresh(vendor: Party, *, today: dt.date | None = None) -> bool:
    """Set the profile's onboarded_at when the checklist became complete, clear it when not.

    Returns whether the checklist is complete on ``today`` (default: the local date). A vendor
    without a profile has no payment terms, so it is never complete and nothing is stored.
    """
    complete = onboarding_status(vendor, today or timezone.localdate()).complete
    profile = VendorProfile.objects.filter(vendor=vendor).first()
    if profile is None:
        return complete
    if complete and profile.onboarded_at is None:
        profile.onboarded_at = timezone.now()
        profile.save(update_fields=["onboarded_at"])
        logger.info("vendor %s onboarding complete", vendor.code)
    elif not complete and profile.onboarded_at is not None:
        profile.onboarded_at = None
        profile.save(update_fields=["onboarded_at"])
        logger.info("vendor %s onboarding no longer complete", vendor.code)
    return complete


# Validation


def _validate_profile(
    *,
    category: str | None,
    payment_terms_days: int | None,
    tax_classification: str | None,
    vat_number: str | None,
) -> None:
    if category is not None and len(category.strip()) > 60:
        raise InvalidInput(
            f"the category is {len(category.strip())} characters long, over the limit of 60.",
            place="--category",
            value=category,
            fix="Use a short spend category such as hosting or subcontractors.",
        )
    if payment_terms_days is not None and (
        isinstance(payment_terms_days, bool)
        or not 0 <= payment_terms_days <= MAX_PAYMENT_TERMS_DAYS
    ):
        raise InvalidInput(
            f"payment terms of {payment_terms_days} days are out of range.",
            place="--payment-terms",
            value=payment_terms_days,
            fix=f"Give the days until payment is due, from 0 to {MAX_PAYMENT_TERMS_DAYS}.",
        )
    if tax_classification is not None and tax_classification not in TaxForm.values:
        raise InvalidInput(
            f"tax classification {tax_classification!r} is unknown.",
            place="--tax-form",
            value=tax_classification,
            fix=f"Use one of: {', '.join(TaxForm.values)}.",
        )
    if vat_number is not None and tax_classification not in (None, TaxForm.EU_VAT):
        raise InvalidInput(
            f"a VAT number goes with the classification eu_vat, not {tax_classification}.",
            place="--vat-number",
            value=vat_number,
            fix="Leave the VAT number out, or set the tax classification to eu_vat.",
        )


def _validate_item(*, requirement: str, status: str, note: str) -> None:
    if requirement in (Requirement.BANK_DETAILS, Requirement.PAYMENT_TERMS):
        how = (
            "it is done once a change request of the target vendor that sets the bank details "
            "is approved (`billguard approvals request vendor VENDOR --set iban=IBAN`)"
            if requirement == Requirement.BANK_DETAILS
            else "it is done once the profile has payment terms (`billguard vendors profile "
            "VENDOR --payment-terms DAYS`)"
        )
        raise InvalidInput(
            f"the checklist item {requirement} is not recorded by hand.",
            place="REQUIREMENT",
            value=requirement,
            fix=f"Nothing to record: {how}.",
        )
    if requirement not in RECORDED_REQUIREMENTS:
        raise InvalidInput(
            f"checklist item {requirement!r} is unknown.",
            place="REQUIREMENT",
            value=requirement,
            fix=f"Use one of: {', '.join(RECORDED_REQUIREMENTS)}.",
        )
    if status not in OnboardingItem.Status.values:
        raise InvalidInput(
            f"status {status!r} is unknown.",
            place="--status",
            value=status,
            fix=f"Use one of: {', '.join(OnboardingItem.Status.values)}.",
        )
    if status == OnboardingItem.Status.REJECTED and not note.strip():
        raise InvalidInput(
            "a rejected checklist item needs a note with the reason.",
            place="--note",
            fix="Give the reason, such as 'liability cover below the required 2 million'.",
        )
    if len(note.strip()) > 500:
        raise InvalidInput(
            f"the note is {len(note.strip())} characters long, over the limit of 500.",
            place="--note",
            fix="Shorten the note to 500 characters.",
        )


def _document_expiry(
    vendor: Party,
    requirement: str,
    profile: VendorProfile | None,
    content: bytes | None,
    *,
    signed_on: dt.date | None,
    expires_on: dt.date | None,
) -> dt.date | None:
    """Check what a document item needs and return its expiry date (None: it does not expire)."""
    if not content:
        raise InvalidInput(
            f"the {Requirement(requirement).label} of vendor {vendor.code} needs its file.",
            place="--file",
            fix="Give the signed form or the certificate as a PDF or a scan.",
        )
    if signed_on is not None and expires_on is not None and expires_on <= signed_on:
        raise InvalidInput(
            f"the expiry date {expires_on} is not after the signing date {signed_on}.",
            place="--expires-on",
            value=expires_on.isoformat(),
            fix="Check both dates on the document.",
        )
    if requirement == Requirement.INSURANCE_CERTIFICATE:
        if expires_on is None:
            raise InvalidInput(
                "an insurance certificate needs its expiry date.",
                place="--expires-on",
                fix="Give the end date of the cover shown on the certificate.",
            )
        return expires_on

    classification = profile.tax_classification if profile is not None else ""
    if classification == TaxForm.EU_VAT:
        raise InvalidInput(
            f"vendor {vendor.code} is classified by its EU VAT number, so it has no IRS form.",
            place="REQUIREMENT",
            value=requirement,
            fix="The valid VAT number in the profile completes the tax form item; or change "
            "the tax classification to w9, w8ben or w8bene first.",
        )
    if classification not in IRS_FORMS:
        raise InvalidInput(
            f"vendor {vendor.code} has no tax classification, so the form cannot be recorded.",
            place="--tax-form",
            fix="Set it first: `billguard vendors profile VENDOR --tax-form w9` (or w8ben, "
            "w8bene, eu_vat).",
        )
    if expires_on is None and classification in (TaxForm.W8BEN, TaxForm.W8BENE):
        if signed_on is None:
            raise InvalidInput(
                f"an {TaxForm(classification).label} expires at the end of the third "
                "calendar year after signing, so it needs its signing date or its expiry date.",
                place="--signed-on",
                fix="Give the date the vendor signed the form.",
            )
        return dt.date(signed_on.year + 3, 12, 31)
    return expires_on


def _document_dates_check(
    requirement: str,
    *,
    signed_on: dt.date | None,
    expires_on: dt.date | None,
    expiry_given: bool,
    today: dt.date | None,
) -> None:
    """Raise InvalidInput for a document signed after today or already expired.

    Without ``expiry_given``, the expiry date was derived from the signing date.
    """
    today = today or timezone.localdate()
    label = Requirement(requirement).label
    if signed_on is not None and signed_on > today:
        raise InvalidInput(
            f"the signing date {signed_on} of the {label} is after today ({today}).",
            place="--signed-on",
            value=signed_on.isoformat(),
            fix="Give the date the vendor signed the document, today or earlier.",
        )
    if expires_on is not None and expires_on < today:
        derived = (
            "" if expiry_given else f" (end of the third year after its signing on {signed_on})"
        )
        raise InvalidInput(
            f"the {label} expired on {expires_on}{derived}, before today ({today}).",
            place="--expires-on" if expiry_given else "--signed-on",
            value=expires_on.isoformat(),
            fix="Record the current document: ask the vendor for one that is valid today.",
        )


def _vat_number_check(profile: VendorProfile, vat_number: str) -> None:
    number = vat_number.strip()
    try:
        profile.vat_number = str(eu_vat.validate(number))
        profile.vat_number_valid, profile.vat_number_error = True, ""
    except StdnumValidationError as error:
        profile.vat_number = number[:40]
        profile.vat_number_valid = False
        profile.vat_number_error = (str(error) or type(error).__name__)[:200]


def _tax_form_reopen(vendor: Party, old: str, new: str) -> None:
    item = OnboardingItem.objects.filter(
        vendor=vendor, requirement=Requirement.TAX_FORM, status=OnboardingItem.Status.DONE
    ).first()
    if item is None:
        return
    item.status = OnboardingItem.Status.PENDING
    item.note = (
        f"tax classification changed from {TaxForm(old).label} to {TaxForm(new).label}; "
        "record the new form"
    )
    item.completed_by, item.completed_at = "", None
    item.save(update_fields=["status", "note", "completed_by", "completed_at"])


# Checklist states


@dataclass(frozen=True)
class _State:
    state: str
    detail: str = ""
    expires_on: dt.date | None = None
    document_id: int | None = None


def _recorded_state(item: OnboardingItem | None, on: dt.date) -> _State:
    if item is None:
        return _State("pending", "not recorded")
    if item.status == OnboardingItem.Status.REJECTED:
        return _State("rejected", item.note, item.expires_on, item.document_id)
    if item.status != OnboardingItem.Status.DONE:
        return _State("pending", item.note, item.expires_on, item.document_id)
    if item.expires_on is not None and item.expires_on < on:
        return _State("expired", f"expired on {item.expires_on}", item.expires_on, item.document_id)
    detail = f"by {item.completed_by}" if item.completed_by else ""
    if item.expires_on is not None:
        detail = f"valid until {item.expires_on}" + (f", {detail}" if detail else "")
    return _State("done", detail, item.expires_on, item.document_id)


def _tax_form_state(
    profile: VendorProfile | None, item: OnboardingItem | None, on: dt.date
) -> _State:
    classification = profile.tax_classification if profile is not None else ""
    if profile is None or not classification:
        return _State("pending", "no tax classification in the profile")
    if classification == TaxForm.EU_VAT:
        if profile.vat_number_valid:
            return _State("done", f"EU VAT number {profile.vat_number} valid")
        return _State(
            "pending", f"EU VAT number {profile.vat_number} invalid: {profile.vat_number_error}"
        )
    state = _recorded_state(item, on)
    label = f"Form {TaxForm(classification).label.removeprefix('IRS Form ')}"
    return _State(
        state.state,
        f"{label}: {state.detail}" if state.detail else label,
        state.expires_on,
        state.document_id,
    )


def _bank_details_state(vendor: Party) -> _State:
    account = VendorBankAccount.objects.filter(party=vendor, is_primary=True).first()
    pending = (
        ChangeRequest.objects.filter(
            target=Target.VENDOR, target_id=str(vendor.pk), status=ChangeRequest.Status.PENDING
        )
        .order_by("pk")
        .first()
    )
    waiting = f"change request {pending.pk} waits for approval" if pending else ""
    if account is None:
        return _State("pending", waiting or "no approved bank account")
    detail = f"IBAN ending {account.iban[-4:]}"
    return _State("done", f"{detail}; {waiting}" if waiting else detail)


def _payment_terms_state(profile: VendorProfile | None) -> _State:
    if profile is None or profile.payment_terms_days is None:
        return _State("pending", "no payment terms in the profile")
    return _State("done", f"{profile.payment_terms_days} days")


# Audit values


def _profile_values(profile: VendorProfile) -> dict[str, object]:
    return {
        "category": profile.category,
        "payment_terms_days": profile.payment_terms_days,
        "tax_classification": profile.tax_classification,
        "vat_number": profile.vat_number,
        "vat_number_valid": profile.vat_number_valid,
    }


def _item_values(item: OnboardingItem) -> dict[str, object]:
    return {
        "requirement": item.requirement,
        "status": item.status,
        "document_id": item.document_id,
        "expires_on": item.expires_on.isoformat() if item.expires_on else None,
        "note": item.note,
    }


def _document_title(vendor: Party, requirement: str, profile: VendorProfile | None) -> str:
    if requirement == Requirement.TAX_FORM and profile is not None and profile.tax_classification:
        return f"{TaxForm(profile.tax_classification).label} of {vendor.name}"[:200]
    return f"{str(Requirement(requirement).label).capitalize()} of {vendor.name}"[:200]


def _actor(by: User | None) -> str:
    return by.get_username() if by is not None else DEFAULT_ACTOR
