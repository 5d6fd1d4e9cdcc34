"""gunicorn on loopback for the HTTP benchmarks (DEBUG off, the bench database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from bench.common import OUT_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(
    workers: int, *, production: bool = False, env_extra: dict[str, str] | None = None
) -> Iterator[int]:
    """Serve the project with `workers` sync workers; yields the port. `production=True` serves
    it as `make serve` does instead: the repository's gunicorn.conf.py (threaded workers, JSON
    request logs), with `workers` processes of GEOGRID_WEB_THREADS threads. `env_extra`: more
    settings for the server's environment."""
    port = free_port()
    env = dict(
        os.environ,
        GEOGRID_DEBUG="0",
        GEOGRID_SECRET_KEY="bench-only-" + "x" * 40,
        DATABASE_URL=os.environ["DATABASE_URL"],
        PYTHONUNBUFFERED="1",
        # The load comes from one address with one key: far past the production
        # throttle, which would otherwise answer 429 (its cost is still measured).
        GEOGRID_OPEN311_POSTS_PER_MINUTE="100000000",
        # Plain HTTP on loopback: no TLS proxy in front, so no redirect to https.
        GEOGRID_HTTPS="0",
        **(env_extra or {}),
    )
    if production:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
    else:
        # gunicorn reads ./gunicorn.conf.py unless told otherwise, and its `threads = 4` turns
        # a sync worker into gthread: an empty config keeps these benchmarks on the plain sync
        # workers they state (from 2026-12-03 12:27 until this was found they ran 4 × 4 gthread).
        empty_config = OUT_DIR / "gunicorn-empty.conf.py"
        OUT_DIR.mkdir(exist_ok=True)
        empty_config.write_text("", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(empty_config),
            "geogrid.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ]
    server = subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
