"""Throwaway PostGIS clusters for tests that restart, stop or replicate a database: never the
test database (other tests use it) and never the embedded one. Each lives in a directory of its
own on a free loopback port and is destroyed afterwards; geogrid.core.devdb does the work, so
these tests need the PostgreSQL binaries (make installs them) but not DATABASE_URL's server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from geogrid.core.devdb import Cluster, scratch_data_dir
from tests.gunicorn import ROOT, free_port

SECRET = "test-only-secret-key-of-fifty-characters-xq8Zr4Lm2Vt9N"

# The small city of tests/factories.py, the shipped taxonomies and calendar, and an Open311 key
# (printed), in a database of its own.
SEED = """
from geogrid.accounts.models import Role
from geogrid.cases.open311_keys import create_open311_key
from tests import factories

admin = factories.user("root-admin", Role.ADMIN)
factories.reference_data()
factories.small_city(admin)
print(create_open311_key(name="load-test")[1])
"""


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Django process on `database_url` (debug off, as in production)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_REPLICA_URL")
    }
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "geogrid.settings",
        "GEOGRID_DEBUG": "0",
        "GEOGRID_SECRET_KEY": SECRET,
        "GEOGRID_HTTPS": "0",
        "DATABASE_URL": database_url,
        **extra,
    }


def run_django(database_url: str, code: str, **extra: str) -> str:
    """Run `code` in a Django process on `database_url`; its stdout."""
    script = "import django\ndjango.setup()\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=django_env(database_url, **extra),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def migrate(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=django_env(database_url),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster with the geogrid database and PostGIS (not migrated)."""
    cluster = Cluster(scratch_data_dir(), free_port())
    try:
        cluster.initdb()
        cluster.start()
        cluster.create_database()
        yield cluster
    finally:
        cluster.destroy()


@contextmanager
def seeded_cluster() -> Iterator[tuple[Cluster, str]]:
    """A throwaway cluster, migrated and seeded (SEED); yields it and the Open311 key."""
    with throwaway_cluster() as cluster:
        migrate(cluster.url)
        key = run_django(cluster.url, SEED).strip().splitlines()[-1]
        yield cluster, key
