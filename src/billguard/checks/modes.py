"""Observe or enforce: whether a check's blocking findings hold the draft.

The control policy's CheckMode rows set a mode per check code (or ``*`` for every check) and
scope: every contract, one customer group (the contract party's ``customer_group``) or one
contract type. In enforce mode a blocking finding holds the draft. In observe mode it is
still recorded, with its severity and ``observed`` set, and the draft goes on as if the
finding were a warning. So a new check, or a new customer group, can be piloted before it
holds anything.

The most specific row wins. The scope decides first: a customer group row over a contract
type row over an all row. A customer group is assigned customer by customer, to pilot or to
exempt them, so it is the narrower choice when a draft matches both. Within one scope, a row
for the exact check code wins over ``*``. Without a matching row a check enforces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from billguard.checks.context import CheckContext
from billguard.checks.finding import Finding
from billguard.controls.models.policy import CheckMode, Mode, Scope

ALL_CHECKS = "*"


@dataclasses.dataclass(frozen=True)
class CheckModeRule:
    check_code: str
    mode: str
    scope: str = Scope.ALL.value
    scope_value: str = ""


class CheckModes:
    """The check modes of the policy, loaded once and then read from memory for each draft."""

    def __init__(self, rules: Iterable[CheckModeRule] = ()) -> None:
        self._modes = {(r.check_code, r.scope, r.scope_value): r.mode for r in rules}

    def mode_for(
        self, check_code: str, *, customer_group: str = "", contract_type: str = ""
    ) -> str:
        """Return the mode of ``check_code`` for drafts of a customer group and contract type."""
        if not self._modes:
            return Mode.ENFORCE.value
        scopes = []
        if customer_group:
            scopes.append((Scope.CUSTOMER_GROUP.value, customer_group))
        if contract_type:
            scopes.append((Scope.CONTRACT_TYPE.value, contract_type))
        scopes.append((Scope.ALL.value, ""))
        for scope, value in scopes:
            for code in (check_code, ALL_CHECKS):
                mode = self._modes.get((code, scope, value))
                if mode is not None:
                    return mode
        return Mode.ENFORCE.value

    def apply(self, findings: list[Finding], context: CheckContext) -> list[Finding]:
        """Return ``findings`` with each blocking finding of an observed check marked observed."""
        if not self._modes:
            return findings
        contract = context.contract
        customer_group = contract.party.customer_group if contract is not None else ""
        contract_type = contract.contract_type if contract is not None else ""
        marked = []
        for finding in findings:
            observe = finding.blocks and (
                self.mode_for(
                    finding.code, customer_group=customer_group, contract_type=contract_type
                )
                == Mode.OBSERVE
            )
            marked.append(dataclasses.replace(finding, observed=True) if observe else finding)
        return marked


def check_modes_load() -> CheckModes:
    """Read the policy's check modes with one query."""
    return CheckModes(
        CheckModeRule(code, mode, scope, value)
        for code, mode, scope, value in CheckMode.objects.values_list(
            "check_code", "mode", "scope", "scope_value"
        )
    )
