"""Benchmarks (`make bench`, i.e. `python -m bench`); never part of `make test`.

Importing the package sets Django up, so every benchmark module can use the ORM and the raw
connection directly. Without DATABASE_URL the benchmarks run in their own database,
`geogrid_bench`, on the embedded cluster: it is created, migrated and given the demo city here,
so the synthetic 16,000-grid city never shows up on the demo's map.
"""

import logging
import os

import django
import psycopg

BENCH_DATABASE = "geogrid_bench"

if not os.environ.get("DATABASE_URL"):
    port = int(os.environ.get("GEOGRID_DB_PORT", "54329"))
    with psycopg.connect(
        host="127.0.0.1", port=port, user="geogrid", dbname="postgres", autocommit=True
    ) as admin:
        if (
            admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)
            ).fetchone()
            is None
        ):
            admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = f"postgis://geogrid@127.0.0.1:{port}/{BENCH_DATABASE}"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geogrid.settings")
django.setup()
# The benchmarks' own set-up (demo load, generated keys and reports) would print service log
# lines between the results; the servers they start keep the production log level.
logging.getLogger("geogrid").setLevel(logging.WARNING)

if os.environ["DATABASE_URL"].endswith("/" + BENCH_DATABASE):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Idempotent: seconds the first time, then nothing. --force: the bench runs with debug off
    # (as production does) and geogrid_bench is its own database, so the demo's guards have
    # nothing to protect here; the demo users get unusable passwords (the bench never logs in).
    # The demo's Open311 key goes to var/demo/<host-port-geogrid_bench>/, not the demo's file.
    call_command("load_demo", verbosity=0, force=True)
