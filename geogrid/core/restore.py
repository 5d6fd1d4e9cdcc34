"""Restoring a backup (core/backup.py describes the folder): verify it, refuse a target that
holds anything, pg_restore in one transaction, then move the staged media into place."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from geogrid.core.backup_db import (
    Database,
    database_contents,
    pg_tool,
    run_tool,
    server_versions,
    table_counts,
)
from geogrid.core.backup_folder import (
    DUMP,
    MEDIA,
    BackupError,
    Progress,
    copy_with_sha256,
    count_files,
    media_files,
    read_manifest,
    verify_backup,
)


@contextmanager
def _target_connection(database: Database, progress: Progress) -> Iterator[psycopg.Connection]:
    """Connect to the target, creating it first when it does not exist."""
    try:
        conn = database.connect()
    except BackupError as first:
        try:
            admin = database.connect(dbname="postgres")
        except BackupError:
            raise first from None  # the server itself is unreachable: say so for the target
        with admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database.name,)
            ).fetchone()
            if exists:
                raise
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
            except psycopg.Error as exc:
                raise BackupError(
                    f"Database {database.describe()} does not exist and cannot "
                    f"be created: {exc}. Create it empty (createdb) and run the "
                    "restore again."
                ) from exc
        progress(f"Created the empty database {database.describe()}.")
        conn = database.connect()
    with conn:
        conn.execute("SET statement_timeout = 0")  # ANALYZE and counts of big tables
        yield conn


def _restore_list(pg_restore: str, dump: Path, database: Database) -> tuple[str, list[str]]:
    """pg_restore's table of contents without the extensions (created beforehand, by name):
    re-creating or commenting on an extension needs its owner's rights, which a restore into
    a database prepared by an administrator does not have."""
    toc = run_tool([pg_restore, "--list", str(dump)], database, "pg_restore --list")
    keep, extensions = [], []
    for line in toc.splitlines():
        match = re.match(r"^\d+; \d+ \d+ EXTENSION - (\S+)", line)
        if match:
            extensions.append(match.group(1))
            continue
        if re.match(r"^\d+; \d+ \d+ COMMENT - EXTENSION ", line):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n", extensions


def restore_backup(
    *, given: Path, database: Database, media_root: Path, progress: Progress = lambda line: None
) -> dict[str, Any]:
    """Restore a backup into an EMPTY database (created if missing) and an empty MEDIA_ROOT.
    Refuses before writing anything when the manifest does not verify or a target holds
    data. Returns a summary (tables, rows, media files)."""
    folder, manifest = read_manifest(given)
    verify_backup(folder, manifest, progress)
    media = {
        name[len(MEDIA) + 1 :]: entry for name, entry in manifest["files"].items() if name != DUMP
    }
    existing = next(media_files(media_root), None)
    if existing is not None:
        raise BackupError(
            f"MEDIA_ROOT {media_root} holds files already "
            f"({existing.relative_to(media_root)}, ...): restore into an empty "
            "media folder (move these files away first, or give --media-root)."
        )
    with _target_connection(database, progress) as conn:
        contents = database_contents(conn)
        if contents:
            raise BackupError(
                f"Database {database.describe()} is not empty: it holds {len(contents)} "
                f"tables, sequences or functions ({', '.join(contents[:3])}, ...). A restore "
                "only goes into an empty database: create one (createdb NAME, then "
                "DATABASE_URL=.../NAME or --database NAME) and run the restore again. Nothing "
                "was changed."
            )
        versions = server_versions(conn)
        if versions["postgresql_num"] // 10_000 < int(manifest["postgresql_num"]) // 10_000:
            raise BackupError(
                f"The backup comes from PostgreSQL {manifest['postgresql']}; "
                f"{database.describe()} runs {versions['postgresql']}. Restore "
                "onto the same major version or a newer one."
            )
        pg_restore = pg_tool("pg_restore", versions["postgresql_num"])
        listing, extensions = _restore_list(pg_restore, folder / DUMP, database)
        staging = _stage_media(folder, media, media_root, progress)
        try:
            for extension in extensions:
                try:
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                            sql.Identifier(extension)
                        )
                    )
                except psycopg.Error as exc:
                    raise BackupError(
                        f"The extension {extension} is missing in {database.describe()} and "
                        f"cannot be created here ({exc.diag.message_primary}): ask the "
                        f"database administrator to run CREATE EXTENSION {extension} in it, "
                        "then run the restore again."
                    ) from exc
            list_file = folder.parent / f".{folder.name}.restore-list"
            list_file.write_text(listing, encoding="utf-8")
            progress(f"Restoring {DUMP} into {database.describe()} (one transaction)…")
            started = time.monotonic()
            try:
                run_tool(
                    [
                        pg_restore,
                        "--single-transaction",
                        "--exit-on-error",
                        "--no-owner",
                        "--no-acl",
                        "--no-password",
                        f"--use-list={list_file}",
                        f"--dbname={database.name}",
                        str(folder / DUMP),
                    ],
                    database,
                    "pg_restore",
                )
            finally:
                list_file.unlink(missing_ok=True)
            progress(f"  restored in {time.monotonic() - started:.1f} s; analysing…")
            conn.execute("ANALYZE")
            counts = table_counts(conn)
            expected = manifest.get("tables") or {}
            wrong = {
                name: (rows, counts.get(name))
                for name, rows in expected.items()
                if counts.get(name) != rows
            }
            if wrong:
                name, (want, got) = next(iter(wrong.items()))
                raise BackupError(
                    f"The restored database differs from the backup in {len(wrong)} tables "
                    f"(e.g. {name}: {got} rows, the backup had {want}); the media were not "
                    "restored."
                )
        except BaseException:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            raise
    progress(f"  {len(counts)} tables, {sum(counts.values()):,} rows: as in the manifest.")
    if staging is not None:
        if media_root.exists():
            media_root.rmdir()  # empty (checked above); replaced by the staged copy
        staging.rename(media_root)
    progress(f"Media: {count_files(len(media))} into {media_root}.")
    return {
        "tables": len(counts),
        "rows": sum(counts.values()),
        "media": len(media),
        "migrations": manifest.get("migrations", []),
    }


def _stage_media(
    folder: Path, media: dict[str, dict[str, Any]], media_root: Path, progress: Progress
) -> Path | None:
    """Copy the media beside MEDIA_ROOT (same file system, so the final move is a rename),
    checking each copy's checksum again."""
    if not media:
        return None
    staging = media_root.parent / f".{media_root.name}.restoring"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for relative, entry in media.items():
            digest, _ = copy_with_sha256(folder / MEDIA / relative, staging / relative)
            if digest != entry["sha256"]:
                raise BackupError(
                    f"{MEDIA}/{relative} changed while it was copied; run the restore again."
                )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"Media staged: {count_files(len(media))} in {staging}.")
    return staging
