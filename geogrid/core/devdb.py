"""The embedded, project-local PostGIS cluster used by `make demo` and `make test`.

Run as `python -m geogrid.core.devdb start|stop|status`. It needs no Django, so the Makefile can
start the database before anything else is imported.

The cluster lives in `var/pgdata` (initdb), listens on one loopback port (GEOGRID_DB_PORT,
default 54329) and on a unix socket inside the data directory, and trusts loopback connections:
it is a development and test database, never a production one (point DATABASE_URL there).

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
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR = PROJECT_ROOT / "var"
DATA_LINK = VAR / "pgdata"
PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]
DB_NAME = "geogrid"
DB_USER = "geogrid"


def port() -> int:
    return int(os.environ.get("GEOGRID_DB_PORT", "54329"))


def pg_bin(name: str) -> str:
    for directory in PG_BIN_CANDIDATES:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    sys.exit(f"devdb: {name} not found; install PostgreSQL 15 (make installs it: make system-deps)")


def running_as_root() -> bool:
    return os.geteuid() == 0


def run_as_server_user(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary as the user that owns the cluster."""
    if running_as_root():
        args = ["runuser", "-u", "postgres", "--", *args]
        # The postgres user may not be allowed into the current directory (a checkout in /root).
        kwargs.setdefault("cwd", "/")
    return subprocess.run(args, check=False, text=True, **kwargs)


def postgres_can_reach(path: Path) -> bool:
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(path)], check=False
    )
    return probe.returncode == 0


def data_dir() -> Path:
    """Resolve (and create if needed) the data directory, honouring the root case above."""
    VAR.mkdir(exist_ok=True)
    if DATA_LINK.is_symlink() or DATA_LINK.exists():
        return DATA_LINK.resolve()
    if running_as_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            sys.exit("devdb: the 'postgres' system user is missing; install postgresql first")
        if postgres_can_reach(VAR):
            target = DATA_LINK
        else:
            digest = hashlib.sha1(str(PROJECT_ROOT).encode()).hexdigest()[:12]
            target = Path("/var/lib/geogrid") / digest / "pgdata"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(target.parent.parent, 0o755)
            os.chmod(target.parent, 0o755)
            if target.exists():
                shutil.rmtree(target)
            DATA_LINK.symlink_to(target)
        target.mkdir(parents=True, exist_ok=True)
        shutil.chown(target, "postgres", "postgres")
        os.chmod(target, 0o700)
        return target.resolve()
    DATA_LINK.mkdir(mode=0o700)
    return DATA_LINK


def is_initialised(pgdata: Path) -> bool:
    return (pgdata / "PG_VERSION").exists()


def initdb(pgdata: Path) -> None:
    print(f"devdb: creating the embedded PostGIS cluster in {pgdata}")
    result = run_as_server_user(
        [
            pg_bin("initdb"),
            "-D", str(pgdata),
            "-U", DB_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ],
        capture_output=True,
    )
    if result.returncode != 0:
        sys.exit(f"devdb: initdb failed:\n{result.stdout}\n{result.stderr}")
    # Tuned for a 2-core development machine: enough memory for spatial joins of a whole city,
    # no fsync cost on throwaway test databases (GEOGRID_DB_DURABLE=1 keeps fsync on).
    durable = os.environ.get("GEOGRID_DB_DURABLE") == "1"
    settings = [
        "listen_addresses = '127.0.0.1'",
        f"port = {port()}",
        f"unix_socket_directories = '{pgdata}'",
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
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write("\n# geogrid embedded cluster\n" + "\n".join(settings) + "\n")


def is_running(pgdata: Path) -> bool:
    if not is_initialised(pgdata):
        return False
    result = run_as_server_user([pg_bin("pg_ctl"), "status", "-D", str(pgdata)], capture_output=True)
    return result.returncode == 0


def psql(sql: str, database: str = "postgres") -> subprocess.CompletedProcess:
    return subprocess.run(
        [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(port()), "-U", DB_USER, "-d", database,
         "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        check=False, text=True, capture_output=True,
    )


def start() -> None:
    pgdata = data_dir()
    if not is_initialised(pgdata):
        initdb(pgdata)
    if not is_running(pgdata):
        log = pgdata / "server.log"
        result = run_as_server_user(
            [pg_bin("pg_ctl"), "start", "-D", str(pgdata), "-l", str(log), "-w", "-t", "60"],
            capture_output=True,
        )
        if result.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
            sys.exit(
                f"devdb: the PostgreSQL server did not start on 127.0.0.1:{port()}.\n"
                f"If another server uses that port, set GEOGRID_DB_PORT.\n{result.stderr}\n{tail}"
            )
    for _ in range(60):
        if psql("SELECT 1").returncode == 0:
            break
        time.sleep(0.5)
    else:
        sys.exit(f"devdb: the server does not answer on 127.0.0.1:{port()}")
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'")
    if exists.stdout.strip() != "1":
        created = psql(f"CREATE DATABASE {DB_NAME}")
        if created.returncode != 0:
            sys.exit(f"devdb: could not create database {DB_NAME}: {created.stderr}")
    extension = psql("CREATE EXTENSION IF NOT EXISTS postgis", database=DB_NAME)
    if extension.returncode != 0:
        sys.exit(
            "devdb: PostGIS is not available in this PostgreSQL "
            f"(install postgresql-15-postgis-3): {extension.stderr}"
        )
    print(f"devdb: PostGIS ready at postgis://{DB_USER}@127.0.0.1:{port()}/{DB_NAME}")


def stop() -> None:
    pgdata = DATA_LINK.resolve() if (DATA_LINK.exists() or DATA_LINK.is_symlink()) else None
    if pgdata is None or not is_running(pgdata):
        print("devdb: the embedded cluster is not running")
        return
    run_as_server_user([pg_bin("pg_ctl"), "stop", "-D", str(pgdata), "-m", "fast", "-w"])
    print("devdb: stopped")


def status() -> None:
    pgdata = DATA_LINK.resolve() if (DATA_LINK.exists() or DATA_LINK.is_symlink()) else None
    if pgdata is not None and is_running(pgdata):
        print(f"devdb: running on 127.0.0.1:{port()}, data in {pgdata}")
    else:
        print("devdb: not running")
        sys.exit(3)


if __name__ == "__main__":
    commands = {"start": start, "stop": stop, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: python -m geogrid.core.devdb start|stop|status")
    commands[sys.argv[1]]()
