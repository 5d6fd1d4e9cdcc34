"""Backups and restores: the database (pg_dump custom format) and the media folder, with a manifest.

A backup is one folder, var/backups/<UTC timestamp>/ by default:
    database.dump   pg_dump -Fc of the configured database
    media/...       a copy of MEDIA_ROOT (case photos)
    manifest.json   format, time, GeoGrid commit, database name/host/port, PostgreSQL and PostGIS
                    versions, the applied migrations, the row count of every table, and the
                    size and SHA-256 of every file above
    SHA256SUMS      the same checksums for `sha256sum -c` (a check without GeoGrid)
It is written as <timestamp>.partial and renamed when complete, so a folder without that suffix
is a whole backup.

Consistency: the dump reads one snapshot (pg_export_snapshot, which pg_dump then imports with
--snapshot), and the manifest's migrations and row counts are read in that same snapshot, so
they describe exactly what the dump holds. Media are copied after the snapshot: photos are only
ever added under new names, so every photo the dump refers to is in the copy (a photo uploaded
meanwhile is copied too, without a row: harmless).

A restore verifies every checksum first, refuses a target database that holds anything
(tables, views, sequences, functions other than extensions' own) or a MEDIA_ROOT that holds
files, then runs pg_restore in ONE transaction (--single-transaction --exit-on-error): it
restores all or nothing. The media go to a staging folder first (checked again) and are moved
into place only after the database committed.

The database password reaches the tools through PGPASSWORD only: never a command line, an
output line or the manifest.

This module writes backups; core/restore.py restores them, core/backup_folder.py reads and
checks the folder (manifest, checksums), and core/backup_db.py talks to PostgreSQL and its tools.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from geogrid.core.backup_db import (
    Database,
    applied_migrations,
    pg_tool,
    run_tool,
    scalar,
    server_versions,
    table_counts,
)
from geogrid.core.backup_folder import (
    DUMP,
    FORMAT,
    MANIFEST,
    MEDIA,
    PARTIAL,
    SUMS,
    TIMESTAMP,
    TIMESTAMP_RE,
    BackupError,
    Progress,
    copy_with_sha256,
    count_files,
    human_size,
    media_files,
    sha256_file,
)


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def create_backup(
    *,
    database: Database,
    media_root: Path,
    output_dir: Path,
    progress: Progress = lambda line: None,
) -> Path:
    """Write a backup folder under output_dir and return it (see the module docstring)."""
    stamp = datetime.now(UTC)
    final = output_dir / stamp.strftime(TIMESTAMP)
    folder = final.with_name(final.name + PARTIAL)
    if final.exists() or folder.exists():
        raise BackupError(f"{final} exists already; wait a second and run the backup again.")
    output_dir.mkdir(parents=True, exist_ok=True)
    # Owner only: a backup holds reporters' names, phone numbers and photos.
    folder.mkdir(mode=0o700)
    try:
        manifest = _write_backup(database, media_root, folder, progress)
        manifest["created_at"] = stamp.isoformat(timespec="seconds")
        (folder / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (folder / SUMS).write_text(
            "".join(f"{entry['sha256']}  {name}\n" for name, entry in manifest["files"].items()),
            encoding="utf-8",
        )
        folder.rename(final)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return final


def _write_backup(
    database: Database, media_root: Path, folder: Path, progress: Progress
) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {}
    with database.connect() as conn:
        versions = server_versions(conn)
        if versions["postgis"] is None:
            raise BackupError(
                f"{database.describe()} has no PostGIS extension: is it the GeoGrid database?"
            )
        pg_dump = pg_tool("pg_dump", versions["postgresql_num"])
        progress(
            f"Database {database.describe()}: PostgreSQL {versions['postgresql']}, "
            f"PostGIS {versions['postgis']}."
        )
        # This session sits idle in its transaction while pg_dump runs, and counts big tables:
        # server-wide limits meant for the application must not end it.
        conn.execute("SET idle_in_transaction_session_timeout = 0")
        conn.execute("SET statement_timeout = 0")
        # One snapshot for the dump and for what the manifest says about it (module docstring).
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = scalar(conn, "SELECT pg_export_snapshot()")
        migrations = applied_migrations(conn)
        counts = table_counts(conn)
        progress(f"Dumping {len(counts)} tables ({sum(counts.values()):,} rows) with pg_dump -Fc…")
        started = time.monotonic()
        run_tool(
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={folder / DUMP}",
                "--no-password",
            ],
            database,
            "pg_dump",
        )
        conn.execute("COMMIT")
    dump_version = run_tool([pg_dump, "--version"], database, "pg_dump --version").strip()
    size = (folder / DUMP).stat().st_size
    files[DUMP] = {"sha256": sha256_file(folder / DUMP), "size": size}
    progress(f"  {DUMP}: {human_size(size)} in {time.monotonic() - started:.1f} s.")

    media_total = 0
    for path in media_files(media_root):
        relative = path.relative_to(media_root).as_posix()
        digest, size = copy_with_sha256(path, folder / MEDIA / relative)
        files[f"{MEDIA}/{relative}"] = {"sha256": digest, "size": size}
        media_total += size
    media_count = len(files) - 1
    progress(
        f"  {MEDIA}/: {count_files(media_count)}, {human_size(media_total)} from {media_root}."
    )
    return {
        "format": FORMAT,
        "geogrid_commit": git_commit(),
        "database": {
            "name": database.name,
            "host": database.host or None,
            "port": database.port or None,
        },
        "postgresql": versions["postgresql"],
        "postgresql_num": versions["postgresql_num"],
        "postgis": versions["postgis"],
        "pg_dump": dump_version,
        "migrations": migrations,
        "tables": counts,
        "media_root": str(media_root),
        "files": files,
    }


def prune_backups(output_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backups in output_dir (folders named by a
    timestamp and holding a manifest; anything else is left alone). Returns what it deleted."""
    complete = sorted(
        path
        for path in output_dir.iterdir()
        if path.is_dir() and TIMESTAMP_RE.match(path.name) and (path / MANIFEST).is_file()
    )
    doomed = complete[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed
