"""manage.py load_demo: the demo city (Beijing Dongcheng), its inventory and one demo user per
role, built by the steps the apps register (geogrid.core.demo). Idempotent."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from geogrid.core.demo import demo_steps


class Command(BaseCommand):
    help = "Load the demo city (Beijing Dongcheng) and demo users; safe to run again."

    def handle(self, *args, **options) -> None:
        quiet = options["verbosity"] == 0

        def progress(items: Iterable, **kwargs: Any) -> Iterable:
            return tqdm(items, file=sys.stderr, disable=quiet, **kwargs)

        context: dict[str, Any] = {}
        for step in demo_steps():
            started = time.monotonic()
            lines = step.run(context, progress)
            if not quiet:
                for line in lines:
                    self.stdout.write(line)
                self.stdout.write(f"[{step.name}: {time.monotonic() - started:.1f} s]")
