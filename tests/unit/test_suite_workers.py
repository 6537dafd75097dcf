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


def test_what_one_worker_made_the_others_read_instead_of_making_it_again(tmp_path, monkeypatch) -> None:
    import tests.conftest as suite

    monkeypatch.setattr(suite, "WORKER", "gw0")
    made: list[str] = []

    def make(folder):  # noqa: ANN001, ANN202
        made.append(str(folder))
        (folder / "day.sqlite").write_text("seeded")
        return [str(folder / "day.sqlite"), 7]

    workers = [SimpleNamespace(getbasetemp=lambda w=w: tmp_path / w) for w in ("popen-gw0", "popen-gw1")]
    answers = [suite.made_once(w, "day", make) for w in workers]  # type: ignore[arg-type]
    assert len(made) == 1 and answers[0] == answers[1] == [str(tmp_path / "made-once-day" / "day.sqlite"), 7]
    assert (tmp_path / "made-once-day" / "day.sqlite").read_text() == "seeded"
