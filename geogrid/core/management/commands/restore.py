"""manage.py restore var/backups/<time>: verify a backup's manifest, then restore it into an
EMPTY database and media folder, all or nothing (geogrid/core/restore.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.loader import MigrationLoader

from geogrid.core.backup_db import Database
from geogrid.core.backup_folder import BackupError
from geogrid.core.restore import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup (its folder or manifest.json) into the configured database, "
        "which must be empty (it is created if missing), and into an empty MEDIA_ROOT."
    )

    # The configured database may be empty or missing: no system check may need it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="var/backups/<time> or its manifest.json")
        parser.add_argument(
            "--database",
            dest="database_name",
            default=None,
            help="restore into this database on the configured server instead "
            "of the configured one (a restore drill: it is created if "
            "missing and must be empty)",
        )
        parser.add_argument(
            "--media-root",
            type=Path,
            default=None,
            help="restore the media here (default MEDIA_ROOT); must be empty",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = Database.from_settings(name=options["database_name"])
        media_root = options["media_root"] or Path(settings.MEDIA_ROOT)
        try:
            summary = restore_backup(
                given=options["backup"],
                database=database,
                media_root=media_root,
                progress=self.stdout.write,
            )
        except BackupError as exc:
            raise CommandError(f"Restore refused or failed: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"Restore failed: {exc.strerror}: {exc.filename}") from exc
        self._compare_migrations(summary["migrations"])
        self.stdout.write(
            f"Restored {summary['tables']} tables ({summary['rows']:,} rows) and "
            f"{summary['media']:,} media files into {database.describe()}."
        )

    def _compare_migrations(self, restored: list[str]) -> None:
        """Say when the backup and this GeoGrid's code are at different migrations."""
        on_disk = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
        ours = {
            name
            for name in restored
            if name.split(".", 1)[0] in {key.split(".", 1)[0] for key in on_disk}
        }
        newer = sorted(ours - on_disk)
        if newer:
            self.stderr.write(
                f"The backup has migrations this code does not know ({newer[0]}, "
                "...): run the GeoGrid version that made it (manifest.json, "
                "geogrid_commit)."
            )
        elif on_disk - set(restored):
            self.stderr.write(
                "This code has migrations the backup lacks: run "
                "`manage.py migrate` before serving it."
            )
