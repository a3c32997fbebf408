import threading

import pytest
from django.db import connection, connections

from billguard.billing.models import Invoice, NumberingSeries
from billguard.billing.run import billing_run_execute
from billguard.domain.periods import parse_period
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers itself; the row lock matters on PostgreSQL",
)
def test_concurrent_runs_number_without_gaps_or_repeats():
    numbers = [f"C-{i}" for i in range(1, 9)]
    for index, number in enumerate(numbers):
        make_contract(number, customer_code=f"CUST-{index}")
    period = parse_period("2026-11")
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(numbers))

    def bill(contract_number: str) -> None:
        try:
            barrier.wait()
            billing_run_execute(period=period, contract_number=contract_number)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=bill, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    issued = sorted(Invoice.objects.values_list("number", flat=True))
    assert issued == [f"ADE-{i:06d}" for i in range(1, 9)]
    assert NumberingSeries.objects.get().next_number == 9
