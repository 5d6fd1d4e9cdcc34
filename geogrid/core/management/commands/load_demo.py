"""manage.py load_demo: the demo city (Beijing Dongcheng), its inventory and one demo user per
role, built by the steps the apps register (geogrid.core.demo). Idempotent.

It is a development tool, so it refuses, unless told --force, to run
  - in a process with GEOGRID_DEBUG off (a production configuration), or
  - on a database that holds data the demo did not make (each app's demo step says what that
    is: users other than the personas, grids outside the demo districts, components not from
    the demo inventory, cases not reported by the demo, other Open311 clients).
A database where load_demo already ran holds only demo data, so it stays re-loadable. With
--force in either situation the demo users get unusable passwords, never `geogrid-demo`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

from geogrid.core.demo import demo_steps, foreign_data


class Command(BaseCommand):
    help = "Load the demo city (Beijing Dongcheng) and demo users; safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="load even with GEOGRID_DEBUG off or beside non-demo data (the demo users "
            "then get unusable passwords)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["verbosity"] == 0
        foreign = foreign_data()
        database = connection.settings_dict["NAME"]
        problems = []
        if not settings.DEBUG:
            problems.append("GEOGRID_DEBUG is off: this looks like a production configuration.")
        if foreign:
            problems.append(
                f"Database {database} holds data the demo did not make: " + "; ".join(foreign) + "."
            )
        if problems and not options["force"]:
            raise CommandError(
                "load_demo refused. " + " ".join(problems) + " The demo is for a development "
                "database: run it with GEOGRID_DEBUG=1 on an empty or demo-only database "
                "(`make demo` does), or pass --force to load it anyway (the demo users then "
                "get unusable passwords)."
            )
        if problems:
            self.stderr.write(
                "load_demo --force: " + " ".join(problems) + " Loading anyway; "
                "the demo users get unusable passwords."
            )

        def progress(items: Iterable[Any], **kwargs: Any) -> Iterable[Any]:
            bar: Iterable[Any] = tqdm(items, file=sys.stderr, disable=quiet, **kwargs)
            return bar

        # The well-known password only where nobody but a developer can reach it.
        context: dict[str, Any] = {"demo_passwords": not problems}
        for step in demo_steps():
            started = time.monotonic()
            lines = step.run(context, progress)
            if not quiet:
                for line in lines:
                    self.stdout.write(line)
                self.stdout.write(f"[{step.name}: {time.monotonic() - started:.1f} s]")
