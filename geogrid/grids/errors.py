"""The errors of the grid use cases and checks, importable by the checks, the write services
and the views that turn them into 400s and 409s without a cycle."""

from __future__ import annotations

from geogrid.grids import topology
from geogrid.grids.models import Grid


class GridError(ValueError):
    """A grid change that cannot be made; the message says why in plain words, and `reason`
    names the case for clients that word it themselves (the editor, in the page's language)."""

    def __init__(self, message: str, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason


class TopologyError(GridError):
    """The change would break the topology; `problems` says where and how much."""

    def __init__(self, message: str, problems: list[topology.Problem]):
        super().__init__(message)
        self.problems = problems


class VersionConflict(GridError):
    """Someone saved the grid since the caller read it (optimistic lock)."""

    def __init__(self, grid: Grid, expected: int):
        last = grid.events.order_by("-created_at", "-id").select_related("actor").first()
        who = last.actor.get_username() if last and last.actor else "someone"
        when = last.created_at.isoformat(timespec="seconds") if last else "recently"
        super().__init__(
            f"Grid {grid.code} was changed by {who} at {when} (version {grid.version}); you "
            f"edited version {expected}. Reload it, re-apply your change and save again."
        )
        self.grid = grid
        self.current_version = grid.version
        self.changed_by = who
        self.changed_at = last.created_at if last else None
