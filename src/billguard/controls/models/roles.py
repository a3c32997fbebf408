"""The permissions that roles grant; the roles themselves are Django auth groups."""

from django.db import models

from billguard.controls.actions import permission_list


class Role(models.TextChoices):
    SALES = "sales"
    PROCUREMENT = "procurement"
    FINANCE = "finance"
    FINANCE_APPROVER = "finance_approver", "finance approver"
    ADMINISTRATOR = "administrator"
    AUDITOR = "auditor", "auditor (read-only)"


class ControlPermission(models.Model):
    """Has no table: it only carries the permissions of the controls app."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = tuple(permission_list())
