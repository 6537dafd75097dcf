"""The suite on pytest-xdist workers (tests/conftest.py): a database of its own per worker,
and the heavy files handed out first."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import _heaviness, worker_database_url


def test_each_worker_gets_a_database_of_its_own_beside_the_given_one() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test_suite?sslmode=disable"
    assert worker_database_url(url, None) == url
    assert worker_database_url(url, "gw0") == "postgresql://postgres@127.0.0.1:5432/test_suite_gw0?sslmode=disable"
    assert worker_database_url(url, "gw1") != worker_database_url(url, "gw0")


def test_servers_and_browsers_go_first_and_a_files_tests_stay_together_in_order() -> None:
    ids = [
        "tests/api/test_orders.py::a[sqlite]",
        "tests/unit/test_solver.py::b",
        "tests/browser/test_pick.py::c",
        "tests/api/test_orders.py::a[postgres]",
        "tests/live/test_courier_day.py::d",
        "tests/live/test_api_contract.py::e",
    ]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    ordered = [i.nodeid for i in sorted(items, key=_heaviness)]  # type: ignore[arg-type]
    assert ordered == [
        "tests/live/test_api_contract.py::e",
        "tests/live/test_courier_day.py::d",
        "tests/browser/test_pick.py::c",
        "tests/api/test_orders.py::a[sqlite]",
        "tests/api/test_orders.py::a[postgres]",
        "tests/unit/test_solver.py::b",
    ]
