import hashlib

import pytest

from billguard.cli.main import main
from billguard.controls.models import AlertDelivery, AlertSubscription
from billguard.registry.models import Document
from billguard.sample.pdf import text_pdf
from tests.acting_users import make_user
from tests.controls.alert_servers import webhook_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finance_user(monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    return make_user("fiona", "finance")


def sow_file(tmp_path, name="SOW-C-1.pdf", text="Statement of work C-1"):
    path = tmp_path / name
    path.write_bytes(text_pdf(text))
    return path


def test_documents_add_stores_revision(capsys, tmp_path, finance_user):
    path = sow_file(tmp_path)

    status = main(
        [
            "documents", "add", str(path), "--kind", "sow", "--family", "SOW-C-1",
            "--title", "SOW C-1", "--signed-on", "2026-01-05", "--signer", "Jane Buyer",
            "--user", "fiona",
        ]
    )  # fmt: skip

    assert status == 0
    document = Document.objects.get()
    assert document.stored_by == "fiona"
    assert document.file_name == "SOW-C-1.pdf"
    assert document.sha256 in capsys.readouterr().out


def test_documents_add_takes_user_from_environment(tmp_path, finance_user, monkeypatch):
    monkeypatch.setenv("BILLGUARD_USER", "fiona")
    path = sow_file(tmp_path)

    status = main(["documents", "add", str(path), "--kind", "sow", "--family", "F", "--title", "T"])

    assert status == 0
    assert Document.objects.get().stored_by == "fiona"


def test_documents_add_without_user_exits_two(capsys, tmp_path, finance_user):
    path = sow_file(tmp_path)

    status = main(["documents", "add", str(path), "--kind", "sow", "--family", "F", "--title", "T"])

    assert status == 2
    assert "BILLGUARD_USER" in capsys.readouterr().err
    assert Document.objects.count() == 0


def test_documents_add_rejects_fake_pdf(capsys, tmp_path, finance_user):
    path = tmp_path / "SOW-C-1.pdf"
    path.write_text("not a PDF at all")

    status = main(
        [
            "documents", "add", str(path), "--kind", "sow", "--family", "F", "--title", "T",
            "--user", "fiona",
        ]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 2
    assert "SOW-C-1.pdf" in err
    assert "plain text" in err
    assert Document.objects.count() == 0


def test_documents_list_show_get(capsys, tmp_path, finance_user):
    for revision in (1, 2):
        path = sow_file(tmp_path, text=f"Statement of work, revision {revision}")
        add = ["documents", "add", str(path), "--kind", "sow", "--family", "SOW-C-1"]
        assert main([*add, "--title", "SOW C-1", "--user", "fiona"]) == 0
    first = Document.objects.get(revision=1)
    capsys.readouterr()

    assert main(["documents", "list"]) == 0
    listing = capsys.readouterr().out
    assert main(["documents", "show", str(first.pk)]) == 0
    shown = capsys.readouterr().out
    output = tmp_path / "out" / "rev1.pdf"
    output.parent.mkdir()
    status = main(["documents", "get", str(first.pk), "--output", str(output), "--user", "fiona"])

    assert "SOW-C-1" in listing
    assert len([line for line in listing.splitlines() if "SOW-C-1" in line]) == 1
    for document in Document.objects.all():
        assert document.sha256 in shown
    assert status == 0
    assert hashlib.sha256(output.read_bytes()).hexdigest() == first.sha256


def test_documents_show_unknown_id_exits_two(capsys):
    status = main(["documents", "show", "404"])

    assert status == 2
    assert "document 404 does not exist" in capsys.readouterr().err


def test_alerts_subscribe_and_list(capsys, finance_user):
    status = main(
        ["alerts", "subscribe", "--event", "invoice.held", "--email", "ap@example.com",
         "--user", "fiona"]
    )  # fmt: skip
    capsys.readouterr()
    main(["alerts", "list"])
    listing = capsys.readouterr().out

    assert status == 0
    assert AlertSubscription.objects.get().created_by == finance_user
    assert "ap@example.com" in listing
    assert "invoice.held" in listing


def test_alerts_subscribe_webhook_needs_secret(capsys, finance_user, monkeypatch):
    monkeypatch.delenv("BILLGUARD_WEBHOOK_SECRET", raising=False)

    status = main(
        ["alerts", "subscribe", "--event", "invoice.held", "--webhook",
         "https://hooks.example.com/x", "--user", "fiona"]
    )  # fmt: skip

    assert status == 2
    assert "secret" in capsys.readouterr().err
    assert AlertSubscription.objects.count() == 0


def test_alerts_deliver_retries_and_log_shows_it(capsys, finance_user):
    from billguard.controls.alerts import alert_emit, alert_subscribe

    with webhook_server("k", fail_first=1) as receiver:
        alert_subscribe(event="invoice.held", channel="webhook", address=receiver.url, secret="k")
        # Outside a transaction the first attempt runs at once, and fails.
        alert_emit(event="invoice.held", subject="held", payload={})
        AlertDelivery.objects.update(next_attempt_at=None)

        status = main(["alerts", "deliver"])
        out = capsys.readouterr().out
        main(["alerts", "deliveries"])
        log = capsys.readouterr().out

    assert status == 0
    assert "1 sent" in out
    assert "sent" in log
    assert [r["status"] for r in receiver.requests] == [500, 204]


def test_alerts_sweep_prints_counts(capsys):
    status = main(["alerts", "sweep"])

    assert status == 0
    assert "0 overdue exception alert(s)" in capsys.readouterr().out
