"""The locks every grid edit takes before it reads what it checks (docs/architecture.md §3.4), and
the child-level and sequence look-ups made under them."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max

from geogrid.grids.errors import GridError
from geogrid.grids.models import Grid, GridLevel


def next_sequence(parent: Grid) -> int:
    """The next child sequence number of a parent: after every code ever used, never reused.

    The caller holds the parent's row lock, so two concurrent creations cannot take the same one.
    """
    used = Grid.objects.filter(parent=parent).aggregate(last=Max("code"))["last"]
    return int(used[len(parent.code) :]) + 1 if used else 1


def child_level(parent: Grid) -> GridLevel:
    level = GridLevel.objects.filter(depth=parent.level.depth + 1).first()
    if level is None:
        raise GridError(f"{parent.level.name} is the finest level: it has no child grids.")
    return level


# Namespace of GeoGrid's boundary-edit advisory locks (the two-key form of pg_advisory_xact_lock;
# the second key is a hash of the parent's code).
EDIT_LOCK_NAMESPACE = 4490


def serialise_edits_under(*parent_codes: str) -> None:
    """Wait until no other transaction is editing the children of these grids, then hold them
    for the rest of this transaction ("" stands for the top level, which has no parent).

    Why: the overlap and coverage checks read the siblings as they are committed. Two
    transactions reshaping (or creating) neighbours under one parent each lock only their own
    rows, so both could check against the old siblings and commit overlapping grids. Every
    boundary write therefore first takes the transaction-scoped advisory lock of the parent
    whose children it changes, and - for a reshape - of the grid itself, whose own children
    check their coverage against it. Locks are taken in code order, before any row lock, so
    two editors cannot deadlock. Advisory locks are re-entrant: a service that calls another
    takes the same lock again at no cost.
    """
    with connection.cursor() as cursor:
        for code in sorted(set(parent_codes)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [EDIT_LOCK_NAMESPACE, code]
            )


def parent_code(grid: Grid) -> str:
    if grid.parent_id is None:
        return ""
    return Grid.objects.values_list("code", flat=True).get(pk=grid.parent_id)


def lock_grid(grid: Grid) -> Grid:
    return (
        Grid.objects.select_for_update(of=("self",))
        .select_related("level", "parent")
        .get(pk=grid.pk)
    )
