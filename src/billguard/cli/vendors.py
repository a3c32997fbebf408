"""``billguard vendors``: vendor profiles, onboarding checklists, certifications and reports."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billguard.cli.main import EXIT_OK, parse_date
from billguard.cli.plurals import count_noun
from billguard.cli.users import acting_user, add_user_option

if TYPE_CHECKING:
    # Imported for annotations only: Django is set up after the parser is built.
    from billguard.procurement.models import VendorProfile

TAX_FORMS = ("w9", "w8ben", "w8bene", "eu_vat")
RECORDED_ITEMS = ("legal_review", "tax_form", "insurance_certificate")


def add_parsers(sub: Any) -> None:
    """Add the ``vendors`` command and its actions to the subparsers ``sub``."""
    vendors = sub.add_parser(
        "vendors", help="vendor onboarding, certifications and payment terms reports"
    )
    actions = vendors.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list the vendors with their onboarding state")
    _add_on(listing, "date the checklists are evaluated on")
    listing.add_argument("--json", action="store_true", help="write the list as JSON")
    listing.set_defaults(handler=vendors_list)

    show = actions.add_parser("show", help="show a vendor's profile, checklist and certificates")
    show.add_argument("vendor", metavar="VENDOR", help="the vendor's party code")
    _add_on(show, "date the checklist is evaluated on")
    show.add_argument("--json", action="store_true", help="write the vendor as JSON")
    show.set_defaults(handler=vendors_show)

    profile = actions.add_parser(
        "profile",
        help="set a vendor's category, payment terms and tax classification",
        description="Set the fields given; the others stay as they are. An EU VAT number is "
        "checked (format and check digits) and stored with the result.",
    )
    profile.add_argument("vendor", metavar="VENDOR", help="the vendor's party code")
    profile.add_argument("--category", help="main spend category, such as hosting")
    profile.add_argument(
        "--payment-terms", type=int, metavar="DAYS", help="days until our payment is due"
    )
    profile.add_argument(
        "--tax-form",
        choices=TAX_FORMS,
        help="tax classification: IRS Form W-9, W-8BEN, W-8BEN-E, or an EU VAT number",
    )
    profile.add_argument("--vat-number", help="EU VAT number with its country prefix")
    _add_today(profile)
    add_user_option(profile)
    profile.set_defaults(handler=vendors_profile)

    item = actions.add_parser(
        "item",
        help="record a checklist item: legal review, tax form or insurance certificate",
        description="Record the outcome of one onboarding checklist item. A tax form or an "
        "insurance certificate marked done needs its file (--file), which is stored as a "
        "document; a certificate needs --expires-on. Bank details are done when a change "
        "request with the bank details is approved, payment terms when the profile has them.",
    )
    item.add_argument("vendor", metavar="VENDOR", help="the vendor's party code")
    item.add_argument(
        "requirement",
        metavar="ITEM",
        help=f"the checklist item: {', '.join(RECORDED_ITEMS)}",
    )
    item.add_argument(
        "--status", choices=("done", "rejected", "pending"), default="done", help="default: done"
    )
    item.add_argument("--file", type=Path, metavar="FILE", help="the signed form or certificate")
    item.add_argument("--signed-on", type=parse_date, help="signing date, YYYY-MM-DD")
    item.add_argument("--expires-on", type=parse_date, help="expiry date, YYYY-MM-DD")
    item.add_argument("--note", default="", help="a note; needed when rejected")
    _add_today(item)
    add_user_option(item)
    item.set_defaults(handler=vendors_item)

    certify = actions.add_parser(
        "certify",
        help="record or renew a vendor certification",
        description="Record a certification (kind such as sustainability, diversity or "
        "security, and the standard or programme as its name). Recording the same kind and "
        "name again renews it.",
    )
    certify.add_argument("vendor", metavar="VENDOR", help="the vendor's party code")
    certify.add_argument("--kind", required=True, help="sustainability, diversity, security, ...")
    certify.add_argument("--name", required=True, help="such as ISO 14001")
    certify.add_argument("--file", type=Path, metavar="FILE", help="the certificate")
    certify.add_argument("--issued-on", type=parse_date, help="issue date, YYYY-MM-DD")
    certify.add_argument("--expires-on", type=parse_date, help="expiry date, YYYY-MM-DD")
    add_user_option(certify)
    certify.set_defaults(handler=vendors_certify)

    certified = actions.add_parser(
        "certified",
        help="purchase orders and contracts of vendors holding a certification",
        description="List the vendors with a certification of KIND valid on the date, their "
        "purchase orders with totals per currency, and the customer contracts whose lines "
        "pass their cost through (cost links).",
    )
    certified.add_argument("--kind", required=True, help="sustainability, diversity, ...")
    _add_on(certified, "date the certifications must be valid on")
    certified.add_argument("--json", action="store_true", help="write the report as JSON")
    certified.set_defaults(handler=vendors_certified)

    gap = actions.add_parser(
        "terms-gap",
        help="contracts whose customer pays later than we pay the vendor behind them",
        description="Per vendor, list the active customer contracts that pass its cost "
        "through (cost links) whose payment terms are longer than the vendor's, with the gap "
        "in days: the time we finance the cost.",
    )
    _add_on(gap, "date the contract terms in force are taken on")
    gap.add_argument("--json", action="store_true", help="write the report as JSON")
    gap.set_defaults(handler=vendors_terms_gap)

    sweep = actions.add_parser(
        "sweep",
        help="alert vendor documents and certifications about to expire",
        description="Emit vendor.document_expiring for every insurance certificate, tax form "
        "and certification expiring within the policy's vendor_document_warning_days (or "
        "already expired), once per document and expiry date. `billguard alerts sweep` runs "
        "it too.",
    )
    _add_today(sweep)
    sweep.set_defaults(handler=vendors_sweep)


def vendors_list(args: argparse.Namespace) -> int:
    from billguard.procurement.models import VendorProfile
    from billguard.procurement.onboarding import onboarding_status
    from billguard.registry.models import Party

    on = _on(args)
    profiles = {p.vendor_id: p for p in VendorProfile.objects.all()}
    rows: list[dict[str, Any]] = []
    for vendor in Party.objects.filter(kind=Party.Kind.VENDOR, merged_into__isnull=True).order_by(
        "code"
    ):
        status = onboarding_status(vendor, on)
        profile = profiles.get(vendor.pk)
        rows.append(
            {
                "vendor": vendor.code,
                "name": vendor.name,
                "country": vendor.country,
                "category": profile.category if profile else "",
                "payment_terms_days": profile.payment_terms_days if profile else None,
                "tax_classification": profile.tax_classification if profile else "",
                "complete": status.complete,
                "missing": list(status.missing),
                "expired": [label for label, _ in status.expired],
            }
        )
    if args.json:
        print(json.dumps({"on": on.isoformat(), "vendors": rows}, indent=2))
        return EXIT_OK
    if not rows:
        print("no vendors")
        return EXIT_OK
    print(f"Vendors on {on}")
    print(f"{'VENDOR':<12} {'NAME':<32} {'TERMS':>5}  {'TAX':<7} ONBOARDING")
    for row in rows:
        terms = "-" if row["payment_terms_days"] is None else str(row["payment_terms_days"])
        problems = [f"{label} missing" for label in row["missing"]]
        problems += [f"{label} expired" for label in row["expired"]]
        state = "complete" if row["complete"] else "; ".join(problems)
        print(
            f"{row['vendor']:<12} {str(row['name'])[:32]:<32} {terms:>5}  "
            f"{row['tax_classification'] or '-':<7} {state}"
        )
    return EXIT_OK


def vendors_show(args: argparse.Namespace) -> int:
    from billguard.procurement.models import VendorCertification, VendorProfile
    from billguard.procurement.onboarding import onboarding_checklist, status_from_checklist
    from billguard.procurement.scorecard_selectors import vendor_by_code

    # Merged vendors are shown too (read only), with the party they were merged into.
    vendor = vendor_by_code(args.vendor, place="VENDOR")
    merged_into = vendor.merged_into
    on = _on(args)
    profile = VendorProfile.objects.filter(vendor=vendor).first()
    checklist = onboarding_checklist(vendor, on)
    status = status_from_checklist(checklist)
    certifications = list(VendorCertification.objects.filter(vendor=vendor))
    data = {
        "vendor": vendor.code,
        "name": vendor.name,
        "country": vendor.country,
        "merged_into": merged_into.code if merged_into is not None else None,
        "on": on.isoformat(),
        "profile": _profile_data(profile),
        "complete": status.complete,
        "checklist": [item.as_dict() for item in checklist],
        "certifications": [
            {
                "kind": c.kind,
                "name": c.name,
                "issued_on": c.issued_on.isoformat() if c.issued_on else None,
                "expires_on": c.expires_on.isoformat() if c.expires_on else None,
                "valid": c.expires_on is None or c.expires_on >= on,
                "document_id": c.document_id,
            }
            for c in certifications
        ],
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print(f"{vendor.code} {vendor.name} ({vendor.country})")
    if merged_into is not None:
        print(
            f"  merged into {merged_into.code} {merged_into.name}: see "
            f"`billguard vendors show {merged_into.code}`"
        )
    profile_data = data["profile"]
    assert isinstance(profile_data, dict)
    for key, label in (
        ("category", "category"),
        ("payment_terms_days", "payment terms (days)"),
        ("tax_classification", "tax classification"),
        ("vat_number", "EU VAT number"),
    ):
        value = profile_data.get(key)
        print(f"  {label:<22} {'-' if value in (None, '') else value}")
    if profile_data.get("vat_number_error"):
        print(f"  {'VAT number check':<22} invalid: {profile_data['vat_number_error']}")
    onboarded = profile_data.get("onboarded_at") or "not yet"
    print(f"  {'onboarded at':<22} {onboarded}")
    print(f"Checklist on {on}: {'complete' if status.complete else 'incomplete'}")
    for item in checklist:
        flag = "" if item.required else " (not required)"
        detail = f"  {item.detail}" if item.detail else ""
        print(f"  {item.state:<9} {item.label}{flag}{detail}")
    if certifications:
        print("Certifications")
        for c in certifications:
            expiry = f"expires {c.expires_on}" if c.expires_on else "no expiry"
            expired = " (expired)" if c.expires_on is not None and c.expires_on < on else ""
            print(f"  {c.kind:<15} {c.name}  {expiry}{expired}")
    return EXIT_OK


def vendors_profile(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from billguard.procurement.models import VendorProfile
    from billguard.procurement.onboarding import (
        onboarding_checklist,
        vendor_by_code,
        vendor_profile_set,
    )

    user = acting_user(args)
    vendor = vendor_by_code(args.vendor)
    on = args.today or timezone.localdate()
    before = VendorProfile.objects.filter(vendor=vendor).first()
    checklist_before = onboarding_checklist(vendor, on)
    profile = vendor_profile_set(
        vendor=vendor,
        by=user,
        category=args.category,
        payment_terms_days=args.payment_terms,
        tax_classification=args.tax_form,
        vat_number=args.vat_number,
        today=args.today,
    )
    profile.refresh_from_db()
    changes = profile_changes(before, profile, checklist_before, onboarding_checklist(vendor, on))
    if not changes:
        print(f"profile of {vendor.code} unchanged")
    else:
        print(f"profile of {vendor.code} changed:")
        for change in changes:
            print(f"  {change}")
    if profile.vat_number_valid is False:
        print(
            f"warning: EU VAT number {profile.vat_number} is invalid "
            f"({profile.vat_number_error}); the tax form item stays pending"
        )
    return EXIT_OK


def profile_changes(
    before: VendorProfile | None,
    after: VendorProfile,
    checklist_before: list[Any],
    checklist_after: list[Any],
) -> list[str]:
    """Return one line per changed profile field and checklist state, old value first.

    A removed VAT number is shown in full, with the command that sets it back.
    """
    from billguard.procurement.models import VendorProfile

    def label(classification: str) -> str:
        return str(VendorProfile.TaxForm(classification).label) if classification else "-"

    changes: list[str] = []
    old_category = before.category if before else ""
    if old_category != after.category:
        changes.append(f"category: {old_category or '-'} -> {after.category or '-'}")
    old_terms = before.payment_terms_days if before else None
    if old_terms != after.payment_terms_days:
        changes.append(
            f"payment terms: {'-' if old_terms is None else old_terms} -> "
            f"{after.payment_terms_days} days"
        )
    old_form = before.tax_classification if before else ""
    if old_form != after.tax_classification:
        changes.append(
            f"tax classification: {label(old_form)} -> {label(after.tax_classification)}"
        )
    old_vat = before.vat_number if before else ""
    if old_vat and not after.vat_number:
        changes.append(
            f"EU VAT number {old_vat} removed; to set it back: `billguard vendors profile "
            f"{after.vendor.code} --tax-form eu_vat --vat-number {old_vat}`"
        )
    elif old_vat != after.vat_number:
        changes.append(f"EU VAT number: {old_vat or '-'} -> {after.vat_number}")
    states_before = {item.requirement: item for item in checklist_before}
    for item in checklist_after:
        previous = states_before.get(item.requirement)
        if previous is not None and previous.state != item.state:
            detail = f" ({item.detail})" if item.detail else ""
            changes.append(f"checklist item {item.label}: {previous.state} -> {item.state}{detail}")
    was_complete = before is not None and before.onboarded_at is not None
    if was_complete and after.onboarded_at is None:
        changes.append("onboarding checklist no longer complete: the vendor is not onboarded")
    elif not was_complete and after.onboarded_at is not None:
        changes.append("onboarding checklist complete: the vendor is onboarded")
    return changes


def vendors_item(args: argparse.Namespace) -> int:
    from billguard.procurement.models import OnboardingItem
    from billguard.procurement.onboarding import vendor_by_code, vendor_item_record

    user = acting_user(args)
    vendor = vendor_by_code(args.vendor)
    content, file_name = _read(args.file)
    on_file = OnboardingItem.objects.filter(
        vendor=vendor, requirement=args.requirement, status=OnboardingItem.Status.DONE
    ).first()
    item = vendor_item_record(
        vendor=vendor,
        requirement=args.requirement,
        by=user,
        status=args.status,
        note=args.note,
        content=content,
        file_name=file_name,
        signed_on=args.signed_on,
        expires_on=args.expires_on,
        today=args.today,
    )
    expiry = f", expires {item.expires_on}" if item.expires_on else ""
    document = f", document {item.document_id}" if item.document_id else ""
    print(f"{vendor.code} {args.requirement}: {item.status}{document}{expiry}")
    old_expiry = on_file.expires_on if on_file is not None else None
    _warn_earlier_expiry(args.requirement.replace("_", " "), old_expiry, item.expires_on)
    return EXIT_OK


def vendors_certify(args: argparse.Namespace) -> int:
    from billguard.procurement.certifications import vendor_certification_record
    from billguard.procurement.models import VendorCertification
    from billguard.procurement.onboarding import vendor_by_code

    user = acting_user(args)
    vendor = vendor_by_code(args.vendor)
    content, file_name = _read(args.file)
    on_file = VendorCertification.objects.filter(
        vendor=vendor, kind=args.kind.strip().lower(), name=args.name.strip()
    ).first()
    certification = vendor_certification_record(
        vendor=vendor,
        kind=args.kind,
        name=args.name,
        by=user,
        content=content,
        file_name=file_name,
        issued_on=args.issued_on,
        expires_on=args.expires_on,
    )
    expiry = f", expires {certification.expires_on}" if certification.expires_on else ""
    print(f"{vendor.code} certification {certification.kind} {certification.name}{expiry}")
    old_expiry = on_file.expires_on if on_file is not None else None
    _warn_earlier_expiry(f"{certification.name} certificate", old_expiry, certification.expires_on)
    return EXIT_OK


def _warn_earlier_expiry(what: str, old: dt.date | None, new: dt.date | None) -> None:
    """Print a warning when a renewal expires before the document it replaces."""
    if old is None or new is None or new >= old:
        return
    print(
        f"warning: the {what} just recorded expires on {new}, earlier than the one it "
        f"replaces ({old}); check that it is the current one and record that one if not",
        file=sys.stderr,
    )


def vendors_certified(args: argparse.Namespace) -> int:
    from billguard.domain.money import money_text
    from billguard.procurement.certifications import certified_report

    report = certified_report(args.kind, _on(args))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return EXIT_OK
    print(f"Vendors with a {report.kind} certification valid on {report.on}: {len(report.vendors)}")
    for code, name, certificate in report.vendors:
        print(f"  {code:<12} {name}  ({certificate})")
    print(f"Purchase orders: {len(report.orders)}")
    for order in report.orders:
        print(
            f"  {order.number:<16} {order.vendor:<12} {order.ordered_on}  {order.status:<9} "
            f"{money_text(order.amount.amount, order.amount.currency):>18}"
        )
    for currency, total in report.totals.items():
        print(f"  total {money_text(total, currency)}")
    print(f"Customer contracts passing their cost through: {len(report.contracts)}")
    for contract in report.contracts:
        print(
            f"  {contract.number:<12} {contract.customer:<12} {contract.vendor:<12} "
            f"lines {', '.join(contract.line_codes)}"
        )
    return EXIT_OK


def vendors_terms_gap(args: argparse.Namespace) -> int:
    from billguard.procurement.terms_gap import terms_gap_report

    on = _on(args)
    rows = terms_gap_report(on)
    if args.json:
        print(json.dumps({"on": on.isoformat(), "vendors": [r.as_dict() for r in rows]}, indent=2))
        return EXIT_OK
    print(f"Payment terms gap on {on}: contracts whose customer pays later than the vendor")
    if not rows:
        print("  no customer contract passes a vendor cost through")
        return EXIT_OK
    for row in rows:
        terms = (
            "no payment terms" if row.vendor_terms_days is None else f"{row.vendor_terms_days} days"
        )
        gaps = count_noun(len(row.contracts), "contract")
        print(f"{row.vendor} {row.name} ({terms}): {gaps} with a gap")
        for gap in row.contracts:
            print(
                f"  {gap.contract:<12} {gap.customer:<12} customer {gap.customer_terms_days} days, "
                f"gap {gap.gap_days} days (lines {', '.join(gap.line_codes)})"
            )
        if row.vendor_terms_days is None:
            print("  not compared: set the vendor's payment terms with `billguard vendors profile`")
        for number in row.not_compared:
            print(f"  {number:<12} not compared: no payment terms in force on {on}")
    return EXIT_OK


def vendors_sweep(args: argparse.Namespace) -> int:
    from billguard.procurement.expiry import vendor_documents_sweep

    counts = vendor_documents_sweep(today=args.today)
    print(
        f"{count_noun(counts.documents, 'onboarding document')} and "
        f"{count_noun(counts.certifications, 'certification')} alerted, "
        f"{count_noun(counts.deliveries, 'delivery', 'deliveries')} stored"
    )
    return EXIT_OK


def _add_on(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--on", type=parse_date, metavar="DATE", help=f"{help_text} (default: today)"
    )


def _add_today(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--today",
        type=parse_date,
        metavar="DATE",
        help="date taken as today for expiries and onboarded_at (default: today)",
    )


def _on(args: argparse.Namespace) -> dt.date:
    from django.utils import timezone

    on: dt.date | None = args.on
    return on or timezone.localdate()


def _read(path: Path | None) -> tuple[bytes | None, str]:
    from billguard.domain.errors import InvalidInput

    if path is None:
        return None, ""
    try:
        return path.read_bytes(), path.name
    except OSError as error:
        raise InvalidInput(
            f"cannot read the file: {error.strerror}.",
            place=str(path),
            value=str(path),
            fix="Check the path and its permissions.",
        ) from None


def _profile_data(profile: VendorProfile | None) -> dict[str, object]:
    if profile is None:
        return {}
    return {
        "category": profile.category,
        "payment_terms_days": profile.payment_terms_days,
        "tax_classification": profile.tax_classification,
        "vat_number": profile.vat_number,
        "vat_number_valid": profile.vat_number_valid,
        "vat_number_error": profile.vat_number_error,
        "onboarded_at": profile.onboarded_at.isoformat() if profile.onboarded_at else None,
    }
