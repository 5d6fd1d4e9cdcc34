"""The embedded, project-local PostGIS cluster used by `make demo` and `make test`.

Run as `python -m geogrid.core.devdb start|stop|status`, and
`python -m geogrid.core.devdb replica start|stop|status` for a streaming read replica of it
(docs/operations.md, "Read replica and the scale-out path"). It needs no Django, so the Makefile
can start the database before anything else is imported.

The cluster lives in `var/pgdata` (initdb), listens on one loopback port (GEOGRID_DB_PORT,
default 54329) and on a unix socket inside the data directory, and trusts loopback connections:
it is a development and test database, never a production one (point DATABASE_URL there). The
replica lives in `var/pgdata-replica` on GEOGRID_DB_REPLICA_PORT (default 54330).

`Cluster` holds the same operations for any data directory and port, so tests can start
throwaway clusters of their own (a database restart under load, a replica) without touching
this one.

PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres` system
user (created by Debian's package). That user may not be able to traverse the checkout (for
example a clone under /root, mode 0700), so in that case the data directory is placed under
/var/lib/geogrid/<hash of the checkout path> and `var/pgdata` is a symlink to it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR = PROJECT_ROOT / "var"
DATA_LINK = VAR / "pgdata"
REPLICA_LINK = VAR / "pgdata-replica"
PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]
DB_NAME = "geogrid"
DB_USER = "geogrid"


class DevDBError(RuntimeError):
    """A cluster operation failed; the message says what to do."""


def port() -> int:
    return int(os.environ.get("GEOGRID_DB_PORT", "54329"))


def replica_port() -> int:
    return int(os.environ.get("GEOGRID_DB_REPLICA_PORT", "54330"))


def pg_bin(name: str) -> str:
    for directory in PG_BIN_CANDIDATES:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise DevDBError(
        f"{name} not found; install PostgreSQL 15 (make installs it: make system-deps)"
    )


def running_as_root() -> bool:
    return os.geteuid() == 0


def run_as_server_user(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as the user that owns the cluster."""
    if running_as_root():
        args = ["runuser", "-u", "postgres", "--", *args]
        # The postgres user may not be allowed into the current directory (a checkout in /root).
        kwargs.setdefault("cwd", "/")
    return subprocess.run(args, check=False, text=True, **kwargs)


def _run_or_fail(args: list[str], failure: str, *, with_stdout: bool = False) -> None:
    """Run a PostgreSQL binary as the server user; if it fails, raise DevDBError with
    `failure`, a colon and what the program said (its stderr, after its stdout if asked)."""
    result = run_as_server_user(args, capture_output=True)
    if result.returncode != 0:
        said = f"{result.stdout}\n{result.stderr}" if with_stdout else result.stderr
        raise DevDBError(f"{failure}:\n{said}")


def postgres_can_reach(path: Path) -> bool:
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(path)], check=False
    )
    return probe.returncode == 0


def _hand_to_server_user(target: Path) -> None:
    if running_as_root():
        shutil.chown(target, "postgres", "postgres")
    os.chmod(target, 0o700)


def _linked_data_dir(link: Path) -> Path:
    """Resolve (and create if needed) the data directory behind `link`, honouring the root
    case above."""
    VAR.mkdir(exist_ok=True)
    if link.is_symlink() or link.exists():
        return link.resolve()
    if running_as_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise DevDBError(
                "the 'postgres' system user is missing; install postgresql first"
            ) from None
        if postgres_can_reach(VAR):
            target = link
        else:
            digest = hashlib.sha1(str(PROJECT_ROOT).encode()).hexdigest()[:12]
            target = Path("/var/lib/geogrid") / digest / link.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(target.parent.parent, 0o755)
            os.chmod(target.parent, 0o755)
            if target.exists():
                shutil.rmtree(target)
            link.symlink_to(target)
        target.mkdir(parents=True, exist_ok=True)
        _hand_to_server_user(target)
        return target.resolve()
    link.mkdir(mode=0o700)
    return link


def data_dir() -> Path:
    return _linked_data_dir(DATA_LINK)


def scratch_data_dir(prefix: str = "geogrid-pg-") -> Path:
    """An empty data directory the server user can reach, for a throwaway cluster (tests). The
    caller removes it (`Cluster.destroy`). pytest's tmp_path is private to root, so it lives
    under the system temporary directory instead."""
    target = Path(tempfile.mkdtemp(prefix=prefix))
    _hand_to_server_user(target)
    return target


@dataclass
class Cluster:
    """One PostgreSQL cluster: its data directory and the loopback port it listens on."""

    pgdata: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgis://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def log(self) -> Path:
        return self.pgdata / "server.log"

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = run_as_server_user(
            [pg_bin("pg_ctl"), "status", "-D", str(self.pgdata)], capture_output=True
        )
        return result.returncode == 0

    def _configure(self, settings: list[str]) -> None:
        # Appended last, so these win over anything earlier in the file (a base backup carries
        # its primary's port and socket directory).
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# geogrid embedded cluster\n" + "\n".join(settings) + "\n")

    def initdb(self) -> None:
        print(f"devdb: creating a PostGIS cluster in {self.pgdata}")
        _run_or_fail(
            [
                pg_bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                DB_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb failed",
            # initdb logs its steps on stdout, which shows how far it got.
            with_stdout=True,
        )
        # Tuned for a 2-core development machine: enough memory for spatial joins of a whole
        # city, no fsync cost on throwaway test databases (GEOGRID_DB_DURABLE=1 keeps fsync on).
        durable = os.environ.get("GEOGRID_DB_DURABLE") == "1"
        self._configure(
            [
                "listen_addresses = '127.0.0.1'",
                f"port = {self.port}",
                f"unix_socket_directories = '{self.pgdata}'",
                "shared_buffers = 512MB",
                "work_mem = 64MB",
                "maintenance_work_mem = 512MB",
                "max_connections = 100",
                "jit = off",
                "random_page_cost = 1.1",
                # A million-component import writes well over 1 GB of WAL; at the default limit the
                # server checkpoints twice in the middle of it.
                "max_wal_size = 4GB",
                f"fsync = {'on' if durable else 'off'}",
                f"synchronous_commit = {'on' if durable else 'off'}",
                f"full_page_writes = {'on' if durable else 'off'}",
                "log_min_messages = warning",
            ]
        )

    def _address(self) -> list[str]:
        """The client options that reach this cluster as the project's user (psql,
        pg_basebackup)."""
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER]

    def psql(self, sql: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                pg_bin("psql"),
                *self._address(),
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=False,
            text=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start the server and wait until it answers (no database is created here)."""
        if not self.is_running():
            result = run_as_server_user(
                [
                    pg_bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "60",
                ],
                capture_output=True,
            )
            if result.returncode != 0:
                tail = (
                    self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                    if self.log.exists()
                    else ""
                )
                raise DevDBError(
                    f"the PostgreSQL server did not start on 127.0.0.1:{self.port}.\n"
                    f"If another server uses that port, set GEOGRID_DB_PORT.\n"
                    f"{result.stderr}\n{tail}"
                )
        for _ in range(120):
            if self.psql("SELECT 1").returncode == 0:
                return
            time.sleep(0.25)
        raise DevDBError(f"the server does not answer on 127.0.0.1:{self.port}")

    def create_database(self) -> None:
        """The geogrid database with PostGIS, unless it is there already."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")
        if exists.stdout.strip() != "1":
            created = self.psql(f"CREATE DATABASE {DB_NAME}")
            if created.returncode != 0:
                raise DevDBError(f"could not create database {DB_NAME}: {created.stderr}")
        extension = self.psql("CREATE EXTENSION IF NOT EXISTS postgis", database=DB_NAME)
        if extension.returncode != 0:
            raise DevDBError(
                "PostGIS is not available in this PostgreSQL "
                f"(install postgresql-15-postgis-3): {extension.stderr}"
            )

    def stop(self, mode: str = "fast") -> None:
        if self.is_running():
            run_as_server_user(
                [pg_bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", mode, "-w"],
                capture_output=True,
            )

    def destroy(self) -> None:
        """Stop the server and remove its data directory (throwaway clusters only)."""
        self.stop(mode="immediate")
        shutil.rmtree(self.pgdata, ignore_errors=True)

    def make_replica(self, pgdata: Path, replica_port: int) -> Cluster:
        """A streaming replica of this (running) cluster in the empty directory `pgdata`:
        pg_basebackup -R copies the data and writes the standby settings (primary_conninfo,
        standby.signal); the copy then gets its own port and socket directory. Not started."""
        _run_or_fail(
            [
                pg_bin("pg_basebackup"),
                "-D",
                str(pgdata),
                *self._address(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            f"pg_basebackup from 127.0.0.1:{self.port} failed",
        )
        replica = Cluster(pgdata, replica_port)
        (pgdata / "server.log").unlink(missing_ok=True)
        replica._configure(
            [
                f"port = {replica_port}",
                f"unix_socket_directories = '{pgdata}'",
                "hot_standby = on",
            ]
        )
        return replica

    def is_standby(self) -> bool:
        return (self.pgdata / "standby.signal").exists()


def embedded() -> Cluster:
    return Cluster(data_dir(), port())


def start() -> None:
    cluster = embedded()
    if not cluster.is_initialised():
        cluster.initdb()
    cluster.start()
    cluster.create_database()
    print(f"devdb: PostGIS ready at {cluster.url}")


def _existing(link: Path, cluster_port: int) -> Cluster | None:
    if link.exists() or link.is_symlink():
        return Cluster(link.resolve(), cluster_port)
    return None


def _stop(link: Path, cluster_port: int, *, name: str, stopped: str) -> None:
    """Stop the cluster behind `link` (the primary's or the replica's), if it runs."""
    cluster = _existing(link, cluster_port)
    if cluster is None or not cluster.is_running():
        print(f"devdb: the {name} is not running")
        return
    cluster.stop()
    print(f"devdb: {stopped}")


def _status(link: Path, cluster_port: int, *, prefix: str) -> None:
    """Say whether the cluster behind `link` runs; exit 3 if not (as `pg_ctl status` does)."""
    cluster = _existing(link, cluster_port)
    if cluster is not None and cluster.is_running():
        print(f"devdb: {prefix}running on 127.0.0.1:{cluster.port}, data in {cluster.pgdata}")
    else:
        print(f"devdb: {prefix}not running")
        sys.exit(3)


def stop() -> None:
    _stop(DATA_LINK, port(), name="embedded cluster", stopped="stopped")


def status() -> None:
    _status(DATA_LINK, port(), prefix="")


def replica_start() -> None:
    """Start the replica of the embedded cluster, making it first (pg_basebackup) if needed."""
    primary = embedded()
    if not primary.is_running():
        raise DevDBError(
            "the embedded cluster is not running: start it first "
            "(python -m geogrid.core.devdb start)"
        )
    replica = _existing(REPLICA_LINK, replica_port())
    if replica is None or not replica.is_initialised():
        target = _linked_data_dir(REPLICA_LINK)
        replica = primary.make_replica(target, replica_port())
    replica.start()
    print(
        f"devdb: replica of 127.0.0.1:{primary.port} ready (read-only) at {replica.url}; "
        f"set DATABASE_REPLICA_URL={replica.url}"
    )


def replica_stop() -> None:
    _stop(REPLICA_LINK, replica_port(), name="replica", stopped="replica stopped")


def replica_status() -> None:
    _status(REPLICA_LINK, replica_port(), prefix="replica ")


USAGE = (
    "usage: python -m geogrid.core.devdb start|stop|status\n"
    "       python -m geogrid.core.devdb replica start|stop|status"
)


def main(argv: list[str]) -> None:
    commands = {
        ("start",): start,
        ("stop",): stop,
        ("status",): status,
        ("replica", "start"): replica_start,
        ("replica", "stop"): replica_stop,
        ("replica", "status"): replica_status,
    }
    command = commands.get(tuple(argv))
    if command is None:
        sys.exit(USAGE)
    try:
        command()
    except DevDBError as exc:
        sys.exit(f"devdb: {exc}")


if __name__ == "__main__":
    main(sys.argv[1:])
