import pytest

from billguard.delivery.templates import DraftKey, TemplateTie, template_catalog_load
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from tests.acting_users import make_user
from tests.delivery.helpers import admin, make_rule, make_template
from tests.factories import make_customer


def key(party=None, contract_type="services", language="de") -> DraftKey:
    return DraftKey(
        party_id=party.pk if party else None,
        party_code=party.code if party else "",
        contract_type=contract_type,
        language=language,
    )


@pytest.fixture
def templates(db):
    for code in ("ANY", "LANG", "TYPE", "CUSTOMER", "TYPE-LANG"):
        make_template(code)


@pytest.mark.django_db
def test_choice_customer_beats_contract_type_and_language(templates):
    party, _ = make_customer("CUST-1")
    make_rule("ANY")
    make_rule("LANG", language="de")
    make_rule("TYPE", contract_type="services", priority=50)
    make_rule("CUSTOMER", customer="CUST-1")

    catalog = template_catalog_load()

    assert catalog.choose(key(party)).code == "CUSTOMER"
    assert catalog.choose(key(None)).code == "TYPE"
    assert catalog.choose(key(None, contract_type="usage")).code == "LANG"
    assert catalog.choose(key(None, contract_type="usage", language="en")).code == "ANY"


@pytest.mark.django_db
def test_choice_more_criteria_beat_fewer(templates):
    make_rule("TYPE", contract_type="services", priority=10)
    make_rule("TYPE-LANG", contract_type="services", language="de")

    catalog = template_catalog_load()

    assert catalog.choose(key()).code == "TYPE-LANG"
    assert catalog.choose(key(language="fr")).code == "TYPE"


@pytest.mark.django_db
def test_choice_priority_breaks_equal_specificity(templates):
    make_rule("LANG", language="de", priority=1)
    make_rule("ANY", language="de", priority=5)

    assert template_catalog_load().choose(key()).code == "ANY"


@pytest.mark.django_db
def test_choice_without_matching_rule_is_none(templates):
    make_rule("LANG", language="fr")

    assert template_catalog_load().choose(key()) is None


@pytest.mark.django_db
def test_choice_tie_names_both_rules(templates):
    first = make_rule("LANG", language="de")
    # A tie can only come from rows written around rule_add, which rejects it.
    second = type(first).objects.create(language="de", priority=0, template=first.template)

    with pytest.raises(TemplateTie) as raised:
        template_catalog_load().choose(key())

    assert str(first.pk) in str(raised.value)
    assert str(second.pk) in str(raised.value)
    assert "customer (none), contract type services, language de" in str(raised.value)


@pytest.mark.django_db
def test_rule_add_rejects_a_tie(templates):
    first = make_rule("LANG", language="de", priority=3)

    with pytest.raises(RuleViolation) as raised:
        make_rule("ANY", language="de", priority=3)

    assert f"template rule {first.pk}" in str(raised.value)
    assert raised.value.place == "priority"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("criteria", "error", "place"),
    [
        ({"customer": "NOBODY"}, NotFound, "customer"),
        ({"contract_type": "retainer"}, InvalidInput, "contract_type"),
        ({"language": "english"}, InvalidInput, "language"),
    ],
)
def test_rule_add_rejects_bad_criteria(templates, criteria, error, place):
    with pytest.raises(error) as raised:
        make_rule("ANY", **criteria)

    assert raised.value.place == place
    assert raised.value.fix


@pytest.mark.django_db
def test_rule_add_unknown_template():
    with pytest.raises(NotFound) as raised:
        make_rule("MISSING")

    assert "MISSING" in str(raised.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "place"),
    [
        ({"code": "bad code!"}, "code"),
        ({"language": "eng"}, "language"),
        ({"accent_color": "blue"}, "accent_color"),
    ],
)
def test_template_add_rejects_bad_input(fields, place):
    from billguard.delivery.templates import template_add

    values = {"code": "STD", "name": "Standard", "language": "en", **fields}

    with pytest.raises(InvalidInput) as raised:
        template_add(by=admin(), **values)

    assert raised.value.place == place


@pytest.mark.django_db
def test_template_add_needs_permission():
    from billguard.delivery.templates import template_add

    sales = make_user("sam.sales", "sales")

    with pytest.raises(NotAllowed):
        template_add(by=sales, code="STD", name="Standard", language="en")
