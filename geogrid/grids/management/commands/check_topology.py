"""manage.py check_topology CODE [--json]: gaps, overlaps, escapes, invalid and odd-sized grids."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from geogrid.grids.models import Grid
from geogrid.grids.topology import topology_report


class Command(BaseCommand):
    help = "Check the topology of a grid's children and list each problem with its location."

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="the parent grid whose children are checked")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options) -> None:
        parent = Grid.objects.select_related("level").filter(code=options["code"]).first()
        if parent is None:
            raise CommandError(f"No grid has the code {options['code']}.")
        report = topology_report(parent=parent)
        if options["json"]:
            report["problems"] = [p.as_dict() for p in report["problems"]]
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(
                f"{parent.code} {parent.name}: {report['children']} child grids, "
                f"tolerance {report['tolerance_m']} m"
            )
            for problem in report["problems"]:
                where = (
                    f" at lon {problem.location[0]:.6f}, lat {problem.location[1]:.6f}"
                    if problem.location
                    else ""
                )
                self.stdout.write(f"  {problem.kind.upper():8} {problem.message}{where}")
            counts = ", ".join(f"{k} {v}" for k, v in report["counts"].items())
            verdict = "OK: no problems." if report["ok"] else f"Problems: {counts}."
            self.stdout.write(verdict)
        if not report["ok"]:
            raise SystemExit(1)
