"""The demo loader's steps. Each app registers what it adds to the demo city (accounts: users,
grids: the district and its grids, components: the inventory, ...) and `manage.py load_demo`
runs them in order. `core` knows no domain: it only orders and runs the steps, asks them
whether the database holds anything the demo did not make, and names the per-database folder
for the files the demo keeps beside its database.

A step is idempotent: run twice, it creates nothing the second time. It returns lines to print.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

Progress = Callable[..., Iterable[Any]]


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    # run(context, progress) -> lines for the summary; `context` carries what earlier steps
    # made (e.g. context["users"]) for later ones, and context["demo_passwords"]: whether the
    # well-known demo password may be given (debug on and a demo-only database).
    run: Callable[[dict[str, Any], Progress], list[str]]
    # foreign() -> one line per kind of row that this step's app holds and the demo did not
    # make (e.g. "3 users other than the demo personas"); empty when there is none. load_demo
    # refuses to run on such a database unless told --force (README, "Demo data").
    foreign: Callable[[], list[str]] | None = None


_steps: dict[str, DemoStep] = {}


def register_demo_step(step: DemoStep) -> None:
    _steps[step.name] = step


def demo_steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda step: step.order)


def foreign_data() -> list[str]:
    """What the database holds that no demo step made (one line per kind); empty: demo-only."""
    return [line for step in demo_steps() if step.foreign is not None for line in step.foreign()]


def database_label(alias: str = "default") -> str:
    """host-port-name of a database, safe as a file name ("127.0.0.1-54329-geogrid"): the
    demo's files (its Open311 key) belong to one database, and `make bench` loads the demo
    into a second one beside it (with one shared file, the key printed for one database was
    the other's)."""
    db = connections[alias].settings_dict
    host = str(db.get("HOST") or "local")
    parts = [host, str(db.get("PORT") or "5432"), str(db.get("NAME") or "")]
    return "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", part).strip("._") or "_" for part in parts)


def database_dir(alias: str = "default") -> Path:
    """var/demo/<host-port-name>/: the demo files that belong to this database."""
    return Path(settings.BASE_DIR) / "var" / "demo" / database_label(alias)
