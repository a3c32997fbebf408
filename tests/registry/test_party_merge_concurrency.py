"""Two opposite merges of the same two parties approved at the same moment, on PostgreSQL.

Both party rows are locked before a merge checks them, so one merge applies and the other
finds its party already merged. SQLite has no row locks and serializes all writers.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from billguard.controls.models import ChangeRequest
from billguard.controls.policy_yaml import policy_seed
from billguard.controls.requests import change_request_approve
from billguard.domain.errors import RuleViolation
from billguard.registry.models import Contract, Party, PartyMerge
from tests.acting_users import make_user
from tests.registry.merge_setup import actors, duplicate_customers, merge_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
]

THREAD_TIMEOUT = 60


def test_opposite_merges_at_once_apply_one():
    policy_seed()
    people = actors()
    customers = duplicate_customers()
    forward = merge_request(customers.survivor, customers.merged, people)
    backward = merge_request(customers.merged, customers.survivor, people)
    approvers = [people.checker, make_user("blake.approver", "finance_approver")]
    barrier = threading.Barrier(2)
    results: list[ChangeRequest] = []
    errors: list[BaseException] = []

    def approve(request_id: int, index: int) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results.append(change_request_approve(request_id=request_id, by=approvers[index]))
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=approve, args=(request.pk, index))
        for index, request in enumerate((forward, backward))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
        assert not thread.is_alive(), "an approver thread did not finish"

    # The later merge is stale when it read the parties after the first committed, and
    # raises when it read them before and then waited for their row locks.
    outcomes = sorted(str(result.status) for result in results)
    assert outcomes in (["applied"], ["applied", "stale"])
    assert len(errors) == 2 - len(results)
    for error in errors:
        assert isinstance(error, RuleViolation)
        assert "already merged" in str(error)
    assert PartyMerge.objects.count() == 1
    merge = PartyMerge.objects.get()
    assert Party.objects.get(pk=merge.merged_id).merged_into_id == merge.survivor_id
    assert Party.objects.get(pk=merge.survivor_id).merged_into_id is None
    assert Contract.objects.filter(party_id=merge.merged_id).count() == 0
