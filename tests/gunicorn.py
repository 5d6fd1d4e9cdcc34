"""GeoGrid served by a real gunicorn process with debug off, for tests of the production path.

The server is a separate process with its own database connections, so a test that uses it must
commit its data (`transactional_db`) and reads the test database by its name. Passwords: the test
suite hashes with MD5 (tests/conftest.py) and the server only accepts the production hashers, so
log-ins through the server need users made with the production hasher (``production_hasher``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test_… database)."""
    params = connection.settings_dict
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgis://{user}{password}@{host}{port}/{params['NAME']}"


_collected: Path | None = None


def collected_static() -> Path:
    """var/test-staticfiles, filled by `collectstatic` with debug off once per test run: with
    debug off every page names its static files through the manifest this writes (hashed
    names), so a server without it answers pages with a 500."""
    global _collected
    if _collected is None:
        root = ROOT / "var" / "test-staticfiles"
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            DJANGO_SETTINGS_MODULE="geogrid.settings",
            GEOGRID_DEBUG="0",
            GEOGRID_STATIC_ROOT=str(root),
            GEOGRID_SECRET_KEY="collectstatic-only-secret-key-of-fifty-characters-q8Zr4",
        )
        result = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError("collectstatic failed:\n" + result.stdout + result.stderr)
        _collected = root
    return _collected


@dataclass
class Server:
    url: str
    log_path: Path
    process: subprocess.Popen
    static_root: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


@contextmanager
def gunicorn(
    tmp_path: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
    start_timeout: float = 30.0,
) -> Iterator[Server]:
    """Serve the project on a free loopback port; stdout and stderr (the logs) go to a file."""
    port = free_port()
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")
    }
    server_env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "geogrid.settings",
        "GEOGRID_DEBUG": "0",
        "GEOGRID_SECRET_KEY": "test-only-secret-key-of-fifty-characters-xq8Zr4Lm2Vt9N",
        # Plain HTTP on loopback: no TLS proxy in front, so no redirect to https.
        "GEOGRID_HTTPS": "0",
        "DATABASE_URL": database_url or test_database_url(),
        "GEOGRID_STATIC_ROOT": str(collected_static()),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    log_path = tmp_path / f"gunicorn-{port}.log"
    # The repository's gunicorn.conf.py, as `make serve` and the systemd unit use it; the
    # command line's bind and workers take precedence over its values.
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + log_path.read_text(errors="replace"))
            try:
                # Any HTTP answer means a worker is serving.
                urllib.request.urlopen(url + "/i18n/setlang/", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "gunicorn did not answer:\n" + log_path.read_text(errors="replace")
                    ) from None
                time.sleep(0.2)
        yield Server(
            url=url,
            log_path=log_path,
            process=process,
            static_root=Path(server_env["GEOGRID_STATIC_ROOT"]),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
