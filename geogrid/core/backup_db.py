"""The PostgreSQL side of backups and restores: where the database is, its tools (pg_dump,
pg_restore) and what the manifest records about it (versions, migrations, row counts)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.db import connections
from psycopg import sql

from geogrid.core.backup_folder import BackupError


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
        # libpq's variables are its keywords in capitals after PG (PGHOST, PGSSLMODE).
        env.update((f"PG{key.upper()}", value) for key, value in self._given().items())
        return env

    def _given(self) -> dict[str, str]:
        """The connection settings that are set, by libpq keyword; unset ones take libpq's
        defaults (local socket, port 5432, the login user)."""
        given = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "sslmode": self.sslmode,
        }
        return {key: value for key, value in given.items() if value}

    def connect(self, *, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        params: dict[str, Any] = {
            "dbname": dbname or self.name,
            "autocommit": autocommit,
            "connect_timeout": 10,
            "application_name": "geogrid-backup",
        }
        params.update(self._given())
        try:
            return psycopg.connect(**params)
        except psycopg.OperationalError as exc:
            raise BackupError(
                f"Cannot connect to {self.describe()}: {self.redact(str(exc)).strip()}"
            ) from exc

    def redact(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


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


def run_tool(command: list[str], database: Database, what: str) -> str:
    done = subprocess.run(command, env=database.env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = database.redact(done.stderr.strip())[-2000:]
        raise BackupError(f"{what} failed (exit {done.returncode}): {detail}")
    return done.stdout


def scalar(conn: psycopg.Connection[Any], query: Any) -> Any:
    """The one value of a statement that always returns one row."""
    row = conn.execute(query).fetchone()
    if row is None:
        raise BackupError(f"The database returned no row for {query!r}.")
    return row[0]


def server_versions(conn: psycopg.Connection) -> dict[str, Any]:
    version_num = int(scalar(conn, "SHOW server_version_num"))
    version = scalar(conn, "SHOW server_version")
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


def user_functions(conn: psycopg.Connection) -> list[str]:
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
            counts[f"{schema}.{name}"] = int(scalar(conn, query))
    return counts


def applied_migrations(conn: psycopg.Connection) -> list[str]:
    if not scalar(conn, "SELECT to_regclass('django_migrations')"):
        return []
    return [
        f"{app}.{name}"
        for app, name in conn.execute(
            "SELECT app, name FROM django_migrations ORDER BY app, name"
        ).fetchall()
    ]


def database_contents(conn: psycopg.Connection) -> list[str]:
    """What makes a database non-empty: its relations and functions other than extensions'."""
    return [f"{schema}.{name}" for schema, name, _ in user_relations(conn)] + user_functions(conn)
