"""Two planners editing neighbouring grids at the same moment, on two real database connections:
the overlap check of the second must see what the first committed, so exactly one commits."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from geogrid.grids.errors import TopologyError
from geogrid.grids.models import Grid
from geogrid.grids.services import editing
from geogrid.grids.topology import topology_report
from tests import factories
from tests.geometry import rect

# How long a transaction that passed its checks waits for the other one to pass its own before
# committing anyway. With the edit lock the other one never gets there (it waits for the lock),
# so this is how long the test costs; without it both arrive at once.
RENDEZVOUS_S = 3.0


@pytest.fixture
def east_pair(transactional_db):
    """Two unit grids in the east community with a 40 m gap between them; both editors want
    to fill the gap."""
    levels = factories.levels()
    city = factories.small_city()
    actor = factories.user("planner-race", "planner")
    west = editing.create_grid(
        actor=actor, level=levels["unit"], parent=city["east_c"], geom=rect(200, 0, 280, 100)
    )
    east = editing.create_grid(
        actor=actor, level=levels["unit"], parent=city["east_c"], geom=rect(320, 0, 400, 100)
    )
    return {"west": west, "east": east, "city": city, "levels": levels, "actor": actor}


def _race(monkeypatch, edits: list[Callable[[], Any]]) -> tuple[list[Any], list[Exception]]:
    """Run the edits in parallel threads (each with its own connection). Each edit, once its
    checks have passed, waits for the others to pass theirs before it commits."""
    rendezvous = threading.Barrier(len(edits), timeout=RENDEZVOUS_S)
    original = editing.apply_impact

    def apply_impact_after_rendezvous(*args: Any, **kwargs: Any) -> Any:
        # A broken rendezvous means the other edit is waiting for our lock: commit anyway.
        with contextlib.suppress(threading.BrokenBarrierError):
            rendezvous.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(editing, "apply_impact", apply_impact_after_rendezvous)
    results: list[Any] = []
    errors: list[Exception] = []

    def run(edit: Callable[[], Any]) -> None:
        try:
            results.append(edit())
        except Exception as exc:  # collected: a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(edit,)) for edit in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_reshapes_of_siblings_into_the_same_gap_commit_exactly_one(
    east_pair, monkeypatch
):
    west, east, actor = east_pair["west"], east_pair["east"], east_pair["actor"]
    results, errors = _race(
        monkeypatch,
        [
            lambda: editing.reshape_grid(
                grid=Grid.objects.get(pk=west.pk),
                geom=rect(200, 0, 310, 100),
                expected_version=1,
                actor=actor,
            ),
            lambda: editing.reshape_grid(
                grid=Grid.objects.get(pk=east.pk),
                geom=rect(290, 0, 400, 100),
                expected_version=1,
                actor=actor,
            ),
        ],
    )
    assert len(results) == 1, f"both reshapes committed: {results}"
    assert len(errors) == 1 and isinstance(errors[0], TopologyError), errors
    versions = sorted(
        Grid.objects.filter(pk__in=[west.pk, east.pk]).values_list("version", flat=True)
    )
    assert versions == [1, 2]
    report = topology_report(parent=Grid.objects.get(pk=east_pair["city"]["east_c"].pk))
    assert report["counts"]["overlap"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_reshape_racing_a_new_sibling_in_the_same_place_commits_exactly_one(
    east_pair, monkeypatch
):
    west, actor, levels = east_pair["west"], east_pair["actor"], east_pair["levels"]
    community = east_pair["city"]["east_c"]
    results, errors = _race(
        monkeypatch,
        [
            lambda: editing.reshape_grid(
                grid=Grid.objects.get(pk=west.pk),
                geom=rect(200, 0, 310, 100),
                expected_version=1,
                actor=actor,
            ),
            lambda: editing.create_grid(
                actor=actor,
                level=levels["unit"],
                parent=Grid.objects.get(pk=community.pk),
                geom=rect(285, 0, 315, 100),
            ),
        ],
    )
    assert len(results) == 1, f"both edits committed: {results}"
    assert len(errors) == 1 and isinstance(errors[0], TopologyError), errors
    assert Grid.objects.filter(parent=community).count() in (2, 3)
    report = topology_report(parent=Grid.objects.get(pk=community.pk))
    assert report["counts"]["overlap"] == 0
