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
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
DUMP = "database.dump"
MEDIA = "media"
PARTIAL = ".partial"
TIMESTAMP = "%Y%m%dT%H%M%SZ"
_TIMESTAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
CHUNK = 1 << 20

Progress = Callable[[str], None]


class BackupError(Exception):
    """A plain, actionable message for the person running backup or restore."""


@dataclass(frozen=True)
class Database:
    """Where a database is, as the PostgreSQL tools need it."""

    name: str
    host: str
    port: str
    user: str
    password: str
    sslmode: str = ""

    @classmethod
    def from_settings(cls, alias: str = "default", name: str | None = None) -> Database:
        db = connections[alias].settings_dict
        options = db.get("OPTIONS") or {}
        return cls(
            name=name or str(db["NAME"]),
            host=str(db.get("HOST") or ""),
            port=str(db.get("PORT") or ""),
            user=str(db.get("USER") or ""),
            password=str(db.get("PASSWORD") or ""),
            sslmode=str(options.get("sslmode") or ""),
        )

    def other(self, name: str) -> Database:
        return Database(
            name=name,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
        )

    def describe(self) -> str:
        """For messages: name and address, never the password."""
        return f"{self.name} on {self.host or 'the local socket'}:{self.port or 5432}"

    def env(self) -> dict[str, str]:
        """The environment of pg_dump / pg_restore: libpq reads the password from it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGDATABASE=self.name, PGCONNECT_TIMEOUT="10", PGAPPNAME="geogrid-backup")
        for key, value in (
            ("PGHOST", self.host),
            ("PGPORT", self.port),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGSSLMODE", self.sslmode),
        ):
            if value:
                env[key] = value
        return env

    def connect(self, *, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        params: dict[str, Any] = {
            "dbname": dbname or self.name,
            "autocommit": autocommit,
            "connect_timeout": 10,
            "application_name": "geogrid-backup",
        }
        for key, value in (
            ("host", self.host),
            ("port", self.port),
            ("user", self.user),
            ("password", self.password),
            ("sslmode", self.sslmode),
        ):
            if value:
                params[key] = value
        try:
            return psycopg.connect(**params)
        except psycopg.OperationalError as exc:
            raise BackupError(
                f"Cannot connect to {self.describe()}: {self.redact(str(exc)).strip()}"
            ) from exc

    def redact(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


# --- Small helpers ------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"


def _files(count: int) -> str:
    return f"{count:,} file" + ("" if count == 1 else "s")


def pg_tool(name: str, server_version_num: int) -> str:
    """Debian's pg_dump/pg_restore of the server's major version (pg_dump refuses a newer
    server, and a dump is best read by the same major)."""
    major = server_version_num // 10_000
    candidate = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} for PostgreSQL {major} is not installed: install the Debian "
        f"package postgresql-client-{major}."
    )


def _run(command: list[str], database: Database, what: str) -> str:
    done = subprocess.run(command, env=database.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = database.redact(done.stderr.strip())[-2000:]
        raise BackupError(f"{what} failed (exit {done.returncode}): {detail}")
    return done.stdout


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


def _scalar(conn: psycopg.Connection[Any], query: Any) -> Any:
    """The one value of a statement that always returns one row."""
    row = conn.execute(query).fetchone()
    if row is None:
        raise BackupError(f"The database returned no row for {query!r}.")
    return row[0]


def _versions(conn: psycopg.Connection) -> dict[str, Any]:
    version_num = int(_scalar(conn, "SHOW server_version_num"))
    version = _scalar(conn, "SHOW server_version")
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    return {
        "postgresql": version,
        "postgresql_num": version_num,
        "postgis": row[0] if row else None,
    }


def user_relations(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(schema, name, relkind) of every table, view, sequence... not owned by an extension."""
    return conn.execute("""
        SELECT n.nspname, c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2""").fetchall()


def _user_functions(conn: psycopg.Connection) -> list[str]:
    return [
        row[0]
        for row in conn.execute("""
        SELECT p.oid::regprocedure::text FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
        ORDER BY 1""").fetchall()
    ]


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Rows of every ordinary table (schema.name), as this connection's snapshot sees them."""
    counts = {}
    for schema, name, kind in user_relations(conn):
        if kind in ("r", "p"):
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            counts[f"{schema}.{name}"] = int(_scalar(conn, query))
    return counts


def _migrations(conn: psycopg.Connection) -> list[str]:
    if not _scalar(conn, "SELECT to_regclass('django_migrations')"):
        return []
    return [
        f"{app}.{name}"
        for app, name in conn.execute(
            "SELECT app, name FROM django_migrations ORDER BY app, name"
        ).fetchall()
    ]


def _media_files(root: Path) -> Iterator[Path]:
    """Regular files under root, sorted (symbolic links are not followed: a link could point
    anywhere, and MEDIA_ROOT holds uploaded files only)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _copy_with_sha256(source: Path, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    shutil.copystat(source, target)
    return digest.hexdigest(), size


# --- Backup -------------------------------------------------------------------------------------


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
        versions = _versions(conn)
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
        snapshot = _scalar(conn, "SELECT pg_export_snapshot()")
        migrations = _migrations(conn)
        counts = table_counts(conn)
        progress(f"Dumping {len(counts)} tables ({sum(counts.values()):,} rows) with pg_dump -Fc…")
        started = time.monotonic()
        _run(
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
    dump_version = _run([pg_dump, "--version"], database, "pg_dump --version").strip()
    size = (folder / DUMP).stat().st_size
    files[DUMP] = {"sha256": sha256_file(folder / DUMP), "size": size}
    progress(f"  {DUMP}: {_human(size)} in {time.monotonic() - started:.1f} s.")

    media_total = 0
    for path in _media_files(media_root):
        relative = path.relative_to(media_root).as_posix()
        digest, size = _copy_with_sha256(path, folder / MEDIA / relative)
        files[f"{MEDIA}/{relative}"] = {"sha256": digest, "size": size}
        media_total += size
    media_count = len(files) - 1
    progress(f"  {MEDIA}/: {_files(media_count)}, {_human(media_total)} from {media_root}.")
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
        if path.is_dir() and _TIMESTAMP_RE.match(path.name) and (path / MANIFEST).is_file()
    )
    doomed = complete[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# --- Verify -------------------------------------------------------------------------------------


def read_manifest(given: Path) -> tuple[Path, dict[str, Any]]:
    """The backup folder and its manifest, from the folder or the manifest's path."""
    folder = given.parent if given.name == MANIFEST else given
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{path} does not exist: give a backup folder (var/backups/<time>) "
            "or its manifest.json."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not a readable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown manifest format (this GeoGrid reads format {FORMAT}).")
    if not isinstance(manifest.get("files"), dict) or DUMP not in manifest["files"]:
        raise BackupError(f"{path} lists no {DUMP}.")
    return folder, manifest


def _safe_member(folder: Path, name: str) -> Path:
    # A manifest comes from disk: a name must stay inside the backup folder.
    parts = Path(name).parts
    if (
        not name
        or Path(name).is_absolute()
        or ".." in parts
        or not (name == DUMP or (parts[0] == MEDIA and len(parts) > 1))
    ):
        raise BackupError(f"The manifest names a file outside the backup: {name!r}.")
    return folder / name


def verify_backup(
    folder: Path, manifest: dict[str, Any], progress: Progress = lambda line: None
) -> None:
    """Every listed file is there with its size and SHA-256, and no unlisted file is."""
    listed = set()
    for name, entry in manifest["files"].items():
        path = _safe_member(folder, name)
        listed.add(path)
        if not path.is_file():
            raise BackupError(f"The backup is incomplete: {name} is missing.")
        if path.stat().st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
            raise BackupError(
                f"The backup is damaged or was changed: {name} does not match "
                "its checksum in the manifest. Use another backup."
            )
    extra = (
        [p for p in (folder / MEDIA).rglob("*") if p.is_file() and p not in listed]
        if (folder / MEDIA).is_dir()
        else []
    )
    if extra:
        raise BackupError(
            f"The backup holds files its manifest does not list "
            f"({extra[0].relative_to(folder)}, ...): it was changed. "
            "Use another backup."
        )
    progress(f"Manifest verified: {_files(len(listed))}, checksums match.")


# --- Restore ------------------------------------------------------------------------------------


def database_contents(conn: psycopg.Connection) -> list[str]:
    """What makes a database non-empty: its relations and functions other than extensions'."""
    return [f"{schema}.{name}" for schema, name, _ in user_relations(conn)] + _user_functions(conn)


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
    toc = _run([pg_restore, "--list", str(dump)], database, "pg_restore --list")
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
    existing = next(_media_files(media_root), None)
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
        versions = _versions(conn)
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
                _run(
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
    progress(f"Media: {_files(len(media))} into {media_root}.")
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
            digest, _ = _copy_with_sha256(folder / MEDIA / relative, staging / relative)
            if digest != entry["sha256"]:
                raise BackupError(
                    f"{MEDIA}/{relative} changed while it was copied; run the restore again."
                )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"Media staged: {_files(len(media))} in {staging}.")
    return staging
