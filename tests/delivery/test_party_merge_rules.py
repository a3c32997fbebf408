import pytest

from billguard.registry.merge_relations import party_relations, relation_kept, relation_rows
from tests.delivery.helpers import make_rule, make_template
from tests.factories import make_customer


@pytest.mark.django_db
def test_merge_moves_template_rules_without_ties():
    survivor, _ = make_customer("CUST-1")
    merged, _ = make_customer("CUST-2", name="Northwind Traders", tax_id="DE811569869")
    make_template("A")
    make_template("B")
    make_rule("A", customer="CUST-1", language="de")
    moving = make_rule("B", customer="CUST-2")
    tied = make_rule("B", customer="CUST-2", language="de")
    relation = next(r for r in party_relations() if r.label == "delivery.templaterule.party")

    assert relation_rows(relation, survivor, merged) == [moving.pk]
    assert relation_kept(relation, survivor, merged) == [tied.pk]
