import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.duplicates import DeterministicMatcher, PartyRecord, normalize_name
from billguard.registry.models import Amendment, BillingScheduleLine, ContractVersion
from billguard.registry.selectors import ScheduleChange, amendment_schedule_proposal
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.services.documents import document_read, document_store
from billguard.registry.services.entities import chart_of_accounts_import
from billguard.registry.services.schedules import schedule_apply_amendment, schedule_lines_for
from billguard.registry.tax_ids import validate_tax_id
from billguard.registry.terms import PriceChangeTerms, VersionTerms
from tests.factories import make_contract, make_customer, make_sow

D = Decimal


@pytest.mark.parametrize(
    ("value", "country", "normalized"),
    [
        ("DE 136 695 976", "DE", "DE136695976"),
        ("136695976", "DE", "DE136695976"),
        ("GB980780684", "GB", "GB980780684"),
        ("12-3456789", "US", "123456789"),
        ("FR40303265045", "FR", "FR40303265045"),
    ],
)
def test_tax_id_valid_and_normalized(value, country, normalized):
    check = validate_tax_id(value, country)

    assert check.valid
    assert check.normalized == normalized


def test_tax_id_bad_check_digit_is_invalid():
    check = validate_tax_id("DE136695977", "DE")

    assert not check.valid
    assert "check digit" in check.error


def test_tax_id_unknown_country_is_invalid_with_reason():
    check = validate_tax_id("123", "ZZ")

    assert not check.valid
    assert "ZZ" in check.error


def test_duplicate_rule_matches_name_variants_and_postcode():
    records = [
        PartyRecord(1, "Globex Corporation", "10001", ""),
        PartyRecord(2, "GLOBEX Corp.", "10 001", ""),
        PartyRecord(3, "Globex Corporation", "94105", ""),
    ]

    pairs = DeterministicMatcher().find_pairs(records)

    assert [(p.party_id, p.other_party_id) for p in pairs] == [(1, 2)]


def test_duplicate_rule_matches_tax_id_alone():
    records = [
        PartyRecord(1, "Initech", "1000", "DE 136695976"),
        PartyRecord(2, "Initech Holding", "2000", "de136695976"),
    ]

    pairs = DeterministicMatcher().find_pairs(records)

    assert len(pairs) == 1
    assert pairs[0].reason.startswith("same tax ID")


def test_normalize_name_drops_legal_forms_and_accents():
    assert normalize_name("Müller & Söhne GmbH") == "muller sohne"


@pytest.mark.django_db
def test_document_store_is_content_addressed(var_dir):
    first = document_store(content=b"SOW v1", kind="sow", family="SOW-X", title="SOW X")
    second = document_store(content=b"SOW v1", kind="sow", family="SOW-X", title="SOW X")

    assert first.sha256 == hashlib.sha256(b"SOW v1").hexdigest()
    assert (first.revision, second.revision) == (1, 2)
    assert first.storage_path == second.storage_path
    assert document_read(second) == b"SOW v1"


@pytest.mark.django_db
def test_document_read_detects_changed_file(var_dir):
    document = document_store(content=b"SOW v1", kind="sow", family="SOW-Y", title="SOW Y")
    (var_dir / "documents" / document.storage_path).write_bytes(b"SOW v1, edited")

    with pytest.raises(InvalidInput) as error:
        document_read(document)

    assert document.sha256 in str(error.value)


@pytest.mark.django_db
def test_document_store_rejects_unknown_kind():
    with pytest.raises(InvalidInput):
        document_store(content=b"x", kind="memo", family="M", title="Memo")


@pytest.mark.django_db
def test_amendment_approval_creates_next_version():
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=dt.date(2026, 9, 1),
        changes={"lines": {"L1": {"unit_price": "1200.00"}}, "payment_terms_days": 45},
    )
    amendment_sign(
        amendment=amendment, document=make_sow("AMD-C-1"), signed_on=dt.date(2026, 8, 20)
    )

    version = amendment_approve(
        amendment=amendment, approved_by="finance.approver", approved_on=dt.date(2026, 8, 25)
    )

    assert version.version_number == 2
    assert version.effective_from == dt.date(2026, 9, 1)
    assert version.payment_terms_days == 45
    assert version.lines.get().unit_price == D("1200.00")
    assert ContractVersion.objects.get(
        contract=setup.contract, version_number=1
    ).lines.get().unit_price == D("1000.00")
    assert Amendment.objects.get().status == Amendment.Status.APPROVED


@pytest.mark.django_db
def test_amendment_applied_to_schedule_splits_line():
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=dt.date(2026, 9, 1),
        changes={"lines": {"L1": {"unit_price": "1200.00"}}},
    )
    amendment_sign(
        amendment=amendment, document=make_sow("AMD-C-1"), signed_on=dt.date(2026, 8, 20)
    )
    amendment_approve(amendment=amendment, approved_by="approver", approved_on=dt.date(2026, 8, 25))

    schedule_apply_amendment(amendment=amendment)

    lines = BillingScheduleLine.objects.filter(schedule__contract=setup.contract).order_by(
        "effective_from"
    )
    assert [(x.unit_price, x.effective_from, x.effective_to) for x in lines] == [
        (D("1000.00"), dt.date(2026, 1, 1), dt.date(2026, 9, 1)),
        (D("1200.00"), dt.date(2026, 9, 1), None),
    ]


@pytest.mark.django_db
def test_unsigned_amendment_cannot_be_approved():
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract, number="A-1", effective_from=dt.date(2026, 9, 1), changes={}
    )

    with pytest.raises(RuleViolation) as error:
        amendment_approve(amendment=amendment, approved_by="x", approved_on=dt.date(2026, 9, 1))

    assert "signed" in str(error.value)


@pytest.mark.django_db
def test_amendment_with_unknown_field_is_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as error:
        amendment_draft(
            contract=setup.contract,
            number="A-1",
            effective_from=dt.date(2026, 9, 1),
            changes={"colour": "blue"},
        )

    assert "colour" in str(error.value)


@pytest.mark.django_db
def test_contract_terms_reject_unknown_currency():
    with pytest.raises(InvalidInput) as error:
        make_contract(currency="EURO")

    assert "EURO" in str(error.value)


@pytest.mark.django_db
def test_contract_terms_reject_billing_day_32():
    with pytest.raises(InvalidInput) as error:
        make_contract(billing_day=32)

    assert "32" in str(error.value)


@pytest.mark.django_db
def test_bill_to_with_invalid_tax_id_records_reason():
    _, bill_to = make_customer("CUST-9", tax_id="DE136695977")

    assert bill_to.tax_id_valid is False
    assert bill_to.tax_id_error


@pytest.mark.django_db
def test_chart_of_accounts_import_reports_row_and_column():
    content = "code,name,kind\n4000,Revenue,revenue\n4100,Services,income\n"

    with pytest.raises(InvalidInput) as error:
        chart_of_accounts_import(content=content, source="accounts.csv")

    assert "accounts.csv, row 3, column kind" in str(error.value)
    assert "income" in str(error.value)


def test_version_terms_defaults_are_empty():
    terms = VersionTerms(effective_from=dt.date(2026, 1, 1), currency="EUR")

    assert terms.lines == []
    assert terms.tax_rate is None


def approved_price_amendment(setup):
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=dt.date(2026, 9, 1),
        changes={"lines": {"L1": {"unit_price": "1200.00"}}},
    )
    amendment_sign(
        amendment=amendment, document=make_sow("AMD-C-1"), signed_on=dt.date(2026, 8, 20)
    )
    amendment_approve(amendment=amendment, approved_by="approver", approved_on=dt.date(2026, 8, 25))
    return amendment


@pytest.mark.django_db
def test_approved_amendment_proposes_schedule_change():
    setup = make_contract()
    amendment = approved_price_amendment(setup)

    proposal = amendment_schedule_proposal(amendment)

    assert proposal == [ScheduleChange("L1", "unit_price", "1000", "1200")]


@pytest.mark.django_db
def test_applied_amendment_leaves_nothing_to_propose():
    setup = make_contract()
    amendment = approved_price_amendment(setup)

    schedule_apply_amendment(amendment=amendment)

    assert amendment_schedule_proposal(amendment) == []


@pytest.mark.django_db
def test_schedule_from_version_follows_scheduled_uplift():
    uplift = PriceChangeTerms(
        line_code="L1", effective_on=dt.date(2027, 1, 1), kind="fixed_uplift", uplift_percent=D("3")
    )
    setup = make_contract(price_changes=[uplift])
    version = ContractVersion.objects.prefetch_related("lines", "price_changes").get(
        contract=setup.contract
    )

    lines = schedule_lines_for(
        setup.contract.schedule, version, dt.date(2026, 1, 1), {}, follow_price_changes=True
    )

    assert [(x.unit_price, x.effective_from, x.effective_to) for x in lines] == [
        (D("1000.00"), dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
        (D("1030.00"), dt.date(2027, 1, 1), None),
    ]


@pytest.mark.django_db
def test_schedule_without_following_keeps_start_price():
    uplift = PriceChangeTerms(
        line_code="L1", effective_on=dt.date(2027, 1, 1), kind="fixed_uplift", uplift_percent=D("3")
    )
    setup = make_contract(price_changes=[uplift])
    version = ContractVersion.objects.prefetch_related("lines", "price_changes").get(
        contract=setup.contract
    )

    lines = schedule_lines_for(
        setup.contract.schedule, version, dt.date(2026, 1, 1), {}, follow_price_changes=False
    )

    assert [(x.unit_price, x.effective_to) for x in lines] == [(D("1000.00"), None)]
