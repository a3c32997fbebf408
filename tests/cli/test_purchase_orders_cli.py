"""``billguard purchase-orders`` and ``billguard tolerances`` as a procurement user runs them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billguard.cli.main import main
from billguard.procurement.models import MatchTolerance, PurchaseOrder, Receipt
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.procurement.ordering import make_cost_accounts, make_vendor

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal

ORDER_JSON = {
    "number": "PO-0012",
    "vendor": "V-1",
    "seller_entity": "acme-de",
    "currency": "EUR",
    "ordered_on": "2026-10-01",
    "lines": [
        {
            "description": "Hosting capacity, October",
            "quantity": "10",
            "unit_price": 120.00,
            "gl_account": "5100",
            "category": "hosting",
            "expected_on": "2026-10-31",
        },
        {
            "description": "Penetration test",
            "quantity": 1,
            "unit_price": "4500.00",
            "gl_account": "5000",
            "kind": "milestone",
        },
    ],
}

ORDER_CSV = """\
number,vendor,seller_entity,currency,ordered_on,description,quantity,unit_price,gl_account,kind,category,unit_code,expected_on
PO-0020,V-1,acme-de,EUR,2026-10-01,Managed Kubernetes,3,800.00,5100,service,hosting,MON,2026-12-31
PO-0020,V-1,acme-de,EUR,2026-10-01,Cluster setup,1,1500,5000,milestone,,,
PO-0021,V-1,acme-de,EUR,2026-10-02,Backup storage,5,40,5100,,,,
"""


@pytest.fixture
def buyer(monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    make_cost_accounts()
    make_seller()
    make_vendor("V-1")
    return make_user("pat", "procurement")


def run(*argv: str) -> int:
    return main(list(argv))


def create_json(tmp_path, order=None) -> int:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order or ORDER_JSON))
    return run("purchase-orders", "create", "--file", str(path), "--user", "pat")


def test_create_from_json_then_show(capsys, tmp_path, buyer):
    status = create_json(tmp_path)

    assert status == 0
    assert "created purchase order PO-0012 for V-1: 2 line(s), 5700.00 EUR" in (
        capsys.readouterr().out
    )
    order = PurchaseOrder.objects.get(number="PO-0012")
    assert order.created_by == "pat"
    assert order.lines.get(line_number=1).unit_price == D("120.00")

    assert run("purchase-orders", "show", "PO-0012", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "draft"
    assert [line["kind"] for line in report["lines"]] == ["service", "milestone"]
    assert report["lines"][0]["expected_on"] == "2026-10-31"


def test_create_from_csv_groups_rows_by_order(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(ORDER_CSV)

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    assert status == 0
    first = PurchaseOrder.objects.get(number="PO-0020")
    assert [line.unit_code for line in first.lines.order_by("line_number")] == ["MON", "C62"]
    assert PurchaseOrder.objects.get(number="PO-0021").lines.get().kind == "service"


def test_create_bad_row_writes_nothing(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(ORDER_CSV.replace("Backup storage,5,", "Backup storage,five,"))

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    assert status == 2
    assert "orders.csv row 4 quantity" in capsys.readouterr().err
    assert not PurchaseOrder.objects.exists()


def test_create_row_with_extra_values_rejected(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(ORDER_CSV.replace("Cluster setup,", "Cluster setup, phase 1,"))

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    assert status == 2
    assert "orders.csv row 3: the row has 14 values, but the header names 13" in (
        capsys.readouterr().err
    )
    assert not PurchaseOrder.objects.exists()


def test_create_with_an_unknown_vendor_exits_two(capsys, tmp_path, buyer):
    status = create_json(tmp_path, {**ORDER_JSON, "vendor": "V-404"})

    assert status == 2
    assert "vendor 'V-404' does not exist" in capsys.readouterr().err


def test_create_needs_a_user(capsys, tmp_path, buyer):
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER_JSON))

    assert run("purchase-orders", "create", "--file", str(path)) == 2
    assert not PurchaseOrder.objects.exists()


def test_create_by_sales_is_rejected(capsys, tmp_path, buyer):
    make_user("sam", "sales")
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER_JSON))

    status = run("purchase-orders", "create", "--file", str(path), "--user", "sam")

    assert status == 2
    assert capsys.readouterr().err.startswith("error: user: sam (sales) may not create")
    assert not PurchaseOrder.objects.exists()


def test_approve_receive_amend_close(capsys, tmp_path, buyer):
    create_json(tmp_path)

    assert run("purchase-orders", "approve", "PO-0012", "--user", "pat") == 0
    assert "PO-0012 is approved" in capsys.readouterr().out

    status = run(
        "purchase-orders", "receive", "PO-0012", "--line", "1", "--quantity", "10",
        "--on", "2026-10-20", "--reference", "DN-1", "--user", "pat",
    )  # fmt: skip
    assert status == 0
    assert Receipt.objects.get().reference == "DN-1"

    status = run(
        "purchase-orders", "receive", "PO-0012", "--line", "2", "--quantity", "2",
        "--on", "2026-10-20", "--user", "pat",
    )  # fmt: skip
    assert status == 2
    assert "exceed the order by 1" in capsys.readouterr().err

    status = run(
        "purchase-orders", "amend", "PO-0012", "--line", "2", "--unit-price", "4750",
        "--reason", "Scope extended", "--user", "pat",
    )  # fmt: skip
    assert status == 0
    assert "revision 2: line 2 quantity 1, unit price 4750.00 EUR" in capsys.readouterr().out

    assert run("purchase-orders", "show", "PO-0012") == 0
    report = capsys.readouterr().out
    assert "rev 2 line 2 unit_price: 4500.00 -> 4750.00 by pat: Scope extended" in report
    assert "line 1: 10 on 2026-10-20 ref DN-1 by pat" in report

    assert run("purchase-orders", "close", "PO-0012", "--user", "pat") == 0
    assert PurchaseOrder.objects.get().status == "closed"


def test_approve_duplicate_exits_one(capsys, tmp_path, buyer):
    create_json(tmp_path)
    create_json(tmp_path, {**ORDER_JSON, "number": "PO-0013"})
    assert run("purchase-orders", "approve", "PO-0012", "--user", "pat") == 0
    capsys.readouterr()

    status = run("purchase-orders", "approve", "PO-0013", "--user", "pat")

    out = capsys.readouterr().out
    assert status == 1
    assert "PO_DUPLICATE_SUSPECTED" in out
    assert "recheck PO-0013" in out
    assert run("purchase-orders", "recheck", "PO-0013", "--user", "pat") == 1
    capsys.readouterr()
    assert run("purchase-orders", "list", "--status", "held", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["number"] for row in listed] == ["PO-0013"]


def test_list_filters_by_vendor(capsys, tmp_path, buyer):
    make_vendor("V-2")
    create_json(tmp_path)
    create_json(tmp_path, {**ORDER_JSON, "number": "PO-0014", "vendor": "V-2"})
    capsys.readouterr()

    assert run("purchase-orders", "list", "--vendor", "V-2") == 0

    out = capsys.readouterr().out
    assert "PO-0014" in out
    assert "PO-0012" not in out


def test_show_unknown_order_exits_two(capsys, buyer):
    assert run("purchase-orders", "show", "PO-404") == 2
    assert "purchase order 'PO-404' does not exist" in capsys.readouterr().err


def test_tolerances_set_and_list(capsys, buyer):
    status = run(
        "tolerances", "set", "--vendor", "V-1", "--category", "hosting",
        "--unit-price-percent", "2", "--amount", "5", "--user", "pat",
    )  # fmt: skip
    assert status == 0
    assert run("tolerances", "set", "--quantity-percent", "1", "--user", "pat") == 0
    capsys.readouterr()

    assert run("tolerances", "list") == 0

    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["default", "1", "0", "0"]
    assert out[2].split() == ["vendor", "V-1,", "category", "hosting", "0", "2", "5"]
    assert MatchTolerance.objects.count() == 2


def test_tolerances_set_refuses_a_finance_user(capsys, buyer):
    make_user("fran", "finance")

    status = run("tolerances", "set", "--unit-price-percent", "2", "--user", "fran")

    assert status == 2
    assert "may not set the match tolerances" in capsys.readouterr().err
    assert not MatchTolerance.objects.exists()


def test_receive_future_date_exits_two(capsys, tmp_path, buyer):
    create_json(tmp_path)
    assert run("purchase-orders", "approve", "PO-0012", "--user", "pat") == 0
    capsys.readouterr()

    status = run(
        "purchase-orders", "receive", "PO-0012", "--line", "1", "--quantity", "1",
        "--on", "2999-01-01", "--user", "pat",
    )  # fmt: skip

    assert status == 2
    assert "received date 2999-01-01 is in the future" in capsys.readouterr().err
    assert not Receipt.objects.exists()


def test_tolerances_set_without_values_exits_two(capsys, buyer):
    assert run("tolerances", "set", "--amount", "5", "--user", "pat") == 0
    capsys.readouterr()

    status = run("tolerances", "set", "--user", "pat")

    err = capsys.readouterr().err
    assert status == 2
    assert "no tolerance value given" in err
    assert "--quantity-percent, --unit-price-percent or --amount" in err
    assert MatchTolerance.objects.get().amount == D(5)


def test_tolerances_set_keeps_values_not_given(capsys, buyer):
    status = run(
        "tolerances", "set", "--vendor", "V-1", "--quantity-percent", "3",
        "--unit-price-percent", "2", "--amount", "5", "--user", "pat",
    )  # fmt: skip
    assert status == 0

    status = run("tolerances", "set", "--vendor", "V-1", "--amount", "7.5", "--user", "pat")

    assert status == 0
    row = MatchTolerance.objects.get()
    assert row.quantity_percent == D(3)
    assert row.unit_price_percent == D(2)
    assert row.amount == D("7.5")


def test_create_unknown_json_keys_rejected(capsys, tmp_path, buyer):
    line = {**ORDER_JSON["lines"][0], "unit_prize": "120.00"}
    order = {**ORDER_JSON, "vendor_code": "V-1", "lines": [line]}

    status = create_json(tmp_path, order)

    err = capsys.readouterr().err
    assert status == 2
    assert "'vendor_code' is not a known order key" in err
    assert "'unit_prize' is not a known line key" in err
    assert "Use the known names: description, quantity, unit_price" in err
    assert not PurchaseOrder.objects.exists()


def test_create_reports_every_problem(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    rows = ORDER_CSV.splitlines()
    rows[1] = rows[1].replace(",3,800.00,", ",three,800.00,")
    rows[3] = rows[3].replace(",5,40,", ",5,4O,")
    path.write_text("\n".join(rows) + "\n")

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    err = capsys.readouterr().err
    assert status == 2
    assert "2 problem(s), no purchase order was created" in err
    assert "orders.csv row 2 quantity: 'three' is not a number." in err
    assert "orders.csv row 4 unit_price: '4O' is not a number." in err
    assert not PurchaseOrder.objects.exists()


def test_create_reports_registry_problems_of_each_order(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(
        ORDER_CSV.replace("PO-0021,V-1,", "PO-0021,V-404,").replace("5100,service", "9999,service")
    )

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    err = capsys.readouterr().err
    assert status == 2
    assert "GL account '9999' is not an open account" in err
    assert "vendor 'V-404' does not exist" in err
    assert not PurchaseOrder.objects.exists()


def test_create_unknown_csv_column_rejected(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(ORDER_CSV.replace(",expected_on\n", ",expected_on,cost_center\n", 1))

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    err = capsys.readouterr().err
    assert status == 2
    assert "'cost_center' is not a known column" in err
    assert not PurchaseOrder.objects.exists()


def test_create_semicolon_csv_named(capsys, tmp_path, buyer):
    path = tmp_path / "orders.csv"
    path.write_text(ORDER_CSV.replace(",", ";"))

    status = run("purchase-orders", "create", "--file", str(path), "--user", "pat")

    err = capsys.readouterr().err
    assert status == 2
    assert "separates its columns with ';'" in err
    assert "has no column" not in err
    assert not PurchaseOrder.objects.exists()


def test_held_order_approved_by_finance_approver(capsys, tmp_path, buyer):
    make_user("alex", "finance_approver")
    create_json(tmp_path)
    create_json(tmp_path, {**ORDER_JSON, "number": "PO-0013"})
    assert run("purchase-orders", "approve", "PO-0012", "--user", "pat") == 0
    assert run("purchase-orders", "approve", "PO-0013", "--user", "pat") == 1
    assert "approve-held PO-0013 --reason TEXT" in capsys.readouterr().out

    status = run(
        "purchase-orders", "approve-held", "PO-0013", "--reason", "Second cluster",
        "--user", "alex",
    )  # fmt: skip

    assert status == 0
    assert "PO-0013 is approved despite its findings by alex" in capsys.readouterr().out
    assert PurchaseOrder.objects.get(number="PO-0013").status == "approved"
    assert run("purchase-orders", "show", "PO-0013") == 0
    assert "decided by alex: Second cluster" in capsys.readouterr().out


def test_held_order_rejected_by_creator_exits_two(capsys, tmp_path, buyer):
    create_json(tmp_path)
    create_json(tmp_path, {**ORDER_JSON, "number": "PO-0013"})
    run("purchase-orders", "approve", "PO-0012", "--user", "pat")
    run("purchase-orders", "approve", "PO-0013", "--user", "pat")
    capsys.readouterr()

    status = run("purchase-orders", "reject", "PO-0013", "--reason", "dup", "--user", "pat")

    assert status == 2
    assert "may not" in capsys.readouterr().err
    assert PurchaseOrder.objects.get(number="PO-0013").status == "held"


def test_list_unknown_status_exits_two(capsys, buyer):
    status = run("purchase-orders", "list", "--status", "hold")

    err = capsys.readouterr().err
    assert status == 2
    assert "purchase order status 'hold' is unknown" in err
    assert "draft, approved, sent, received, closed, held" in err


def test_list_unknown_vendor_exits_two(capsys, buyer):
    status = run("purchase-orders", "list", "--vendor", "VEND-099")

    assert status == 2
    assert "vendor 'VEND-099' does not exist" in capsys.readouterr().err


def test_list_known_vendor_without_orders(capsys, buyer):
    status = run("purchase-orders", "list", "--vendor", "V-1", "--status", "Held")

    assert status == 0
    assert capsys.readouterr().out == "no purchase orders\n"
