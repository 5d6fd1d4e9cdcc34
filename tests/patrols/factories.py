"""Fixed tracks for the patrol tests, drawn in metres on the small city (tests/geometry.py):
the unit grids are 100 m cells, NW 001 = x 0–100, y 100–200 (the inspector's), NE 002 east of
it, SW 003 and SE 004 below."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from geogrid.patrols.tracks import RawPoint
from tests.geometry import point

PATROL_ID = uuid.UUID("3c1b8f52-7a0e-4d6b-9f15-2e8c4a7d0b63")
POINTS = uuid.UUID("9e4d2a71-5c3b-4f80-a6e2-1b7d9c0f3a54")


def recent_start() -> datetime:
    """A whole minute an hour ago: points must not lie in the future, nor (from a phone)
    more than a week back."""
    return (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)


def walk(
    path: Sequence[tuple[float, float]],
    *,
    start: datetime,
    step_s: float = 10.0,
    accuracy: float | None = 5.0,
    tag: str = "walk",
) -> list[RawPoint]:
    """One point per (x, y) metres, `step_s` seconds apart, ids fixed by `tag` and index."""
    points = []
    for index, (x, y) in enumerate(path):
        at = point(x, y)
        points.append(
            RawPoint(
                client_id=uuid.uuid5(POINTS, f"{tag}:{index}"),
                recorded_at=start + timedelta(seconds=step_s * index),
                x=at.x,
                y=at.y,
                accuracy_m=accuracy,
            )
        )
    return points


def east_along(
    y: float, x_from: float, x_to: float, step_m: float = 10.0
) -> list[tuple[float, float]]:
    count = int(round((x_to - x_from) / step_m)) + 1
    return [(x_from + step_m * i, y) for i in range(count)]


def patrol_points(start_second: int = 0, count: int = 6) -> list[RawPoint]:
    """A short walk east through the inspector's grid at 1 m/s, 10 s apart."""
    start = recent_start() + timedelta(seconds=start_second)
    path = [(10.0 + 10 * i, 150.0) for i in range(count)]
    return walk(path, start=start, tag=f"patrol:{start_second}")


def points_json(start_second: int = 0, count: int = 6) -> list[dict]:
    return [
        {
            "id": str(p.client_id),
            "t": p.recorded_at.isoformat(),
            "x": p.x,
            "y": p.y,
            "accuracy": p.accuracy_m,
        }
        for p in patrol_points(start_second, count)
    ]
