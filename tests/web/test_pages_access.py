"""Signing in and out, and what each role sees of the pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from billguard.controls.models import AuditEntry
from billguard.controls.users import user_password_set
from billguard.domain.errors import InvalidInput, NotAllowed

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-42"


def test_a_page_sends_a_visitor_who_is_not_signed_in_to_the_sign_in_page() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/"


def test_sign_in_with_the_right_password_opens_the_page_asked_for(sample_users) -> None:
    user_password_set(username="fran.finance", password=PASSWORD)
    client = Client()
    response = client.post(
        "/sign-in/", {"username": "fran.finance", "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "fran.finance" in page.content.decode()


def test_a_wrong_password_is_refused_next_to_the_form_and_signs_nobody_in(sample_users) -> None:
    user_password_set(username="fran.finance", password=PASSWORD)
    client = Client()
    response = client.post("/sign-in/", {"username": "fran.finance", "password": "not-it"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "The user name or the password is wrong" in body
    assert 'role="alert"' in body
    assert client.get("/").status_code == 302


def test_sign_in_without_a_password_marks_the_field(sample_users) -> None:
    response = Client().post("/sign-in/", {"username": "fran.finance", "password": ""})
    body = response.content.decode()
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="id_password_error"' in body
    assert "Password is missing. Fill it in." in body


def test_sign_out_ends_the_session(signed_in) -> None:
    client = signed_in("fran.finance")
    assert client.get("/").status_code == 200
    response = client.post("/sign-out/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_page_that_needs_an_action_refuses_a_role_without_it_and_says_why(
    sample_users,
) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse
    from django.test import RequestFactory

    from billguard.web.access import page

    @page("audit_read")
    def audit_only(request):  # type: ignore[no-untyped-def]
        return HttpResponse("audit trail")

    request = RequestFactory().get("/somewhere/")
    request.user = sample_users["sam.sales"]
    with pytest.raises(PermissionDenied, match=r"sam.sales \(sales\) may not read the audit"):
        audit_only(request)
    request.user = sample_users["audrey.auditor"]
    assert audit_only(request).content == b"audit trail"


def test_the_menu_lists_only_pages_the_role_may_open(sample_users) -> None:
    from django.test import RequestFactory

    from billguard.web.access import Capabilities
    from billguard.web.nav import NAV, nav_links

    request = RequestFactory().get("/")
    guarded = [entry for entry in NAV if entry.actions]
    assert guarded, "the menu has entries that need an action"
    for username in ("sam.sales", "pat.procurement", "audrey.auditor"):
        can = Capabilities(sample_users[username])
        labels = {link["label"] for link in nav_links(request, can)}
        assert "Dashboard" in labels
        for entry in guarded:
            assert (entry.label in labels) == any(can[a] for a in entry.actions), entry.label


def test_a_deactivated_user_is_sent_back_to_sign_in(signed_in, sample_users) -> None:
    client = signed_in("sam.sales")
    User.objects.filter(username="sam.sales").update(is_active=False)
    assert client.get("/").status_code == 302


def test_htmx_and_the_style_sheet_are_served_by_the_application(signed_in) -> None:
    client = signed_in("fran.finance")
    page = client.get("/").content.decode()
    assert "/static/htmx/htmx.min.js" in page
    script = client.get("/static/htmx/htmx.min.js")
    assert script.status_code == 200
    assert b"htmx" in b"".join(script.streaming_content)  # type: ignore[attr-defined]
    assert client.get("/static/web/app.css").status_code == 200


def test_an_unknown_page_answers_404_in_html_and_an_unknown_api_path_in_json(signed_in) -> None:
    client = signed_in("fran.finance")
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "Nothing is at /no-such-page/" in page.content.decode()
    api = client.get("/api/no-such-resource/")
    assert api.status_code == 404
    assert api["Content-Type"].startswith("application/json")


def test_a_user_sets_their_own_password_and_the_audit_trail_says_so(sample_users) -> None:
    sam = sample_users["sam.sales"]
    user_password_set(username="sam.sales", password=PASSWORD, by=sam)
    sam.refresh_from_db()
    assert sam.check_password(PASSWORD)
    entry = AuditEntry.objects.filter(action="user.password_set").latest("sequence")
    assert entry.actor == "sam.sales"
    assert PASSWORD not in str(entry.after)


def test_only_an_administrator_sets_another_users_password(sample_users) -> None:
    with pytest.raises(NotAllowed, match="may not change users or roles"):
        user_password_set(username="fran.finance", password=PASSWORD, by=sample_users["sam.sales"])
    user_password_set(username="fran.finance", password=PASSWORD, by=sample_users["ada.admin"])
    assert User.objects.get(username="fran.finance").check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "it needs at least 10"),
        (" leading-space-pass", "starts or ends with a space"),
        ("fran.finance", "the password is the user name"),
    ],
)
def test_a_weak_password_is_refused_with_the_rule(sample_users, password, message) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        user_password_set(username="fran.finance", password=password)
    assert refused.value.place == "password"
    assert not User.objects.get(username="fran.finance").has_usable_password()
