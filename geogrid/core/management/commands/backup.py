"""manage.py backup: a pg_dump of the configured database and a copy of MEDIA_ROOT, with a
checksum manifest, in var/backups/<UTC timestamp>/ (geogrid/core/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from geogrid.core.backup import create_backup, prune_backups
from geogrid.core.backup_db import Database
from geogrid.core.backup_folder import BackupError


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump -Fc, one snapshot) and the media folder into "
        "var/backups/<UTC timestamp>/ with a manifest of checksums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "backups",
            help="where the backup folder is made (default var/backups)",
        )
        parser.add_argument(
            "--media-root",
            type=Path,
            default=None,
            help="the media folder to copy (default MEDIA_ROOT)",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=0,
            help="afterwards delete all but the newest KEEP backups in the "
            "output folder (default 0: delete none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["keep"] < 0:
            raise CommandError("--keep must be 0 (keep all) or a positive number of backups.")
        media_root = options["media_root"] or Path(settings.MEDIA_ROOT)
        try:
            folder = create_backup(
                database=Database.from_settings(),
                media_root=media_root,
                output_dir=options["output_dir"],
                progress=self.stdout.write,
            )
        except BackupError as exc:
            raise CommandError(f"Backup failed: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"Backup failed: {exc.strerror}: {exc.filename}") from exc
        self.stdout.write(
            f"Backup written to {folder} (check it without GeoGrid: "
            f"cd {folder} && sha256sum -c SHA256SUMS)."
        )
        if options["keep"]:
            for path in prune_backups(options["output_dir"], options["keep"]):
                self.stdout.write(f"Deleted the old backup {path} (--keep {options['keep']}).")
