"""The demo loader's steps. Each app registers what it adds to the demo city (accounts: users,
grids: the district and its grids, components: the inventory, ...) and `manage.py load_demo`
runs them in order. `core` knows no domain: it only orders and runs the steps.

A step is idempotent: run twice, it creates nothing the second time. It returns lines to print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Progress = Callable[..., Iterable]


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    # run(context, progress) -> lines for the summary; `context` carries what earlier steps
    # made (e.g. context["users"]) for later ones.
    run: Callable[[dict[str, Any], Progress], list[str]]


_steps: dict[str, DemoStep] = {}


def register_demo_step(step: DemoStep) -> None:
    _steps[step.name] = step


def demo_steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda step: step.order)
