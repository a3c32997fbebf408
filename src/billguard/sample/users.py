"""The sample company's users: one per role, and a second approver and administrator.

The second of each lets a rule that needs two people, or a change an administrator asks
for, be approved by someone other than the requester.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from billguard.controls.models.roles import Role
from billguard.controls.roles import roles_install
from billguard.controls.users import user_create

# user name, role, email
SAMPLE_USERS: tuple[tuple[str, Role, str], ...] = (
    ("sam.sales", Role.SALES, "sam.sales@acme.example"),
    ("pat.procurement", Role.PROCUREMENT, "pat.procurement@acme.example"),
    ("fran.finance", Role.FINANCE, "fran.finance@acme.example"),
    ("alex.approver", Role.FINANCE_APPROVER, "alex.approver@acme.example"),
    ("blake.approver", Role.FINANCE_APPROVER, "blake.approver@acme.example"),
    ("ada.admin", Role.ADMINISTRATOR, "ada.admin@acme.example"),
    ("grace.admin", Role.ADMINISTRATOR, "grace.admin@acme.example"),
    ("audrey.auditor", Role.AUDITOR, "audrey.auditor@acme.example"),
)
# The finance user starts the demonstration's billing run.
DEMO_RUN_USER = "fran.finance"
# Every sample user signs in to the web pages with this password. It is for the sample
# company only; real users set their own with `billguard users password NAME`.
SAMPLE_PASSWORD = "billguard-sample"  # noqa: S105 (published sample password)


@transaction.atomic
def sample_users_create() -> list[User]:
    """Install the roles and create the sample users that do not exist yet."""
    roles_install()
    existing = set(User.objects.values_list("username", flat=True))
    return [
        user_create(username=name, roles=[role.value], email=email)
        for name, role, email in SAMPLE_USERS
        if name not in existing
    ]


def sample_passwords_set() -> None:
    """Give the sample users that have no usable password the sample company's password."""
    from django.contrib.auth.hashers import make_password

    users = User.objects.filter(username__in=[name for name, _role, _email in SAMPLE_USERS])
    # One hash for all: the sample password is the same, and hashing costs a fraction of a
    # second each.
    hashed = make_password(SAMPLE_PASSWORD)
    for user in users:
        if not user.has_usable_password():
            user.password = hashed
            user.save(update_fields=["password"])
