"""manage.py import_tracks FILE [FILE …] --inspector USER [--crs CRS] [--dry-run]
[--actor USER] [--report-json OUT]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from geogrid.accounts.actors import actor_from_option
from geogrid.core.commands import progress_bar
from geogrid.core.coordinates import CoordinateError, CRSError
from geogrid.patrols.errors import PatrolError
from geogrid.patrols.services import import_track
from geogrid.patrols.tracks import read_track_file


class DryRun(Exception):
    """Raised inside the import's transaction to roll it back after a dry run."""


class Command(BaseCommand):
    help = (
        "Import GPS tracks (GPX, or GeoJSON points/lines with times) as ended patrols of one "
        "inspector. Each file is one patrol in its own transaction: a bad file is reported "
        "and stores nothing, the others are imported. A file imported before is recognised."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--inspector", required=True, help="username of the inspector")
        parser.add_argument(
            "--crs", help="CRS of the coordinates if not WGS84: 4490, 4513–4554, gcj02, bd09"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and clean, then store nothing"
        )
        parser.add_argument("--actor", help="username recorded in the audit trail")
        parser.add_argument("--report-json", help="also write the report as JSON to this path")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_from_option(options["actor"])
        inspector = actor_from_option(options["inspector"])
        assert inspector is not None  # --inspector is required
        limit = int(settings.GEOGRID_TRACK_FILE_MAX_MB) * 1024 * 1024
        progress = progress_bar(
            desc="Importing tracks", unit="file", verbosity=options["verbosity"]
        )
        report = []
        for name in progress(options["files"]):
            report.append(self._one(Path(name), inspector, actor, options, limit))
        for row in report:
            self.stdout.write(_line(row))
        failed = [row for row in report if row["status"] == "refused"]
        if options["report_json"]:
            with open(options["report_json"], "w", encoding="utf-8") as handle:
                json.dump(report, handle, ensure_ascii=False, indent=2)
        if failed:
            raise CommandError(f"{len(failed)} of {len(report)} files were refused (above).")

    def _one(
        self, path: Path, inspector: Any, actor: Any, options: dict[str, Any], limit: int
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"file": str(path)}
        try:
            size = path.stat().st_size
            if size > limit:
                raise PatrolError(
                    f"the file is {size / 1048576:.1f} MB; at most "
                    f"{settings.GEOGRID_TRACK_FILE_MAX_MB} MB (GEOGRID_TRACK_FILE_MAX_MB)."
                )
            track = read_track_file(path.read_bytes(), name=path.name)
            with transaction.atomic():
                result = import_track(
                    actor=actor, inspector=inspector, track=track, crs=options["crs"]
                )
                row.update(
                    status="imported" if result.created else "already imported",
                    patrol=result.patrol.pk,
                    points=len(track.points),
                    distance_m=round(result.patrol.distance_m, 1),
                    # What the patrol holds (for a file seen before: what its first import kept).
                    accepted=result.patrol.points_accepted,
                    jump=result.patrol.points_jump,
                    inaccurate=result.patrol.points_inaccurate,
                    repeated=result.batch.repeated,
                )
                if options["dry_run"]:
                    row["status"] = "checked (dry run)"
                    raise DryRun
        except DryRun:
            row.pop("patrol", None)
        except OSError as exc:
            row.update(status="refused", reason=f"cannot read the file: {exc.strerror}")
        except (PatrolError, CRSError, CoordinateError, PermissionError) as exc:
            row.update(status="refused", reason=str(exc))
        return row


def _line(row: dict[str, Any]) -> str:
    if row["status"] == "refused":
        return f"{row['file']}: REFUSED — {row['reason']}"
    return (
        f"{row['file']}: {row['status']}"
        + (f" as patrol #{row['patrol']}" if "patrol" in row else "")
        + f": {row['points']} points, {row['accepted']} kept, {row['jump']} GPS jumps and "
        f"{row['inaccurate']} inaccurate fixes dropped, {row['distance_m'] / 1000:.2f} km"
    )
