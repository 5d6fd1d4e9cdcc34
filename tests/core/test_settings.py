"""Production settings pass Django's deployment checks without a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "GEOGRID_DEBUG": "0",
    "GEOGRID_SECRET_KEY": "a-production-secret-of-sixty-characters-xq8Zr4Lm2Vt9Nb5Kd7Hw3",
    "GEOGRID_ALLOWED_HOSTS": "grid.example.gov.cn, 10.0.0.5",
    "GEOGRID_CSRF_TRUSTED_ORIGINS": "https://grid.example.gov.cn",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is for test code only; a deployment never
    # has it (the deployment check refuses it), so the production process runs without it.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
    )


def test_check_deploy_with_production_settings_prints_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_secure_the_cookies_and_the_transport():
    probe = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS)"
    )
    result = _manage("shell", "-c", probe, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "True True True True ['grid.example.gov.cn', '10.0.0.5'] ['https://grid.example.gov.cn']"
    )


SHOW_TIMEOUT = (
    "from django.conf import settings; from django.db import connection; "
    "cursor = connection.cursor(); cursor.execute('SHOW statement_timeout'); "
    "print(cursor.fetchone()[0], settings.DATABASES['default']['CONN_HEALTH_CHECKS'])"
)


def _python(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, "DJANGO_SETTINGS_MODULE": "geogrid.settings", **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_web_processes_get_a_statement_timeout_and_commands_none_by_default(db):
    from tests.gunicorn import test_database_url

    env = {**PRODUCTION, "DATABASE_URL": test_database_url()}
    # gunicorn imports geogrid.wsgi before the settings load: a web process.
    web = "import geogrid.wsgi; " + SHOW_TIMEOUT
    assert _python(web, **env) == "30s True"
    assert _python(web, GEOGRID_STATEMENT_TIMEOUT_S="7", **env) == "7s True"
    # manage.py (migrate, imports, the timers' jobs): no limit unless asked for.
    command = "import django; django.setup(); " + SHOW_TIMEOUT
    assert _python(command, **env) == "0 True"
    assert _python(command, GEOGRID_COMMAND_STATEMENT_TIMEOUT_S="120", **env) == "2min True"


def test_a_demo_history_size_out_of_range_stops_the_process_with_a_message():
    for value, message in (("-1", "between 0 and 200000"), ("many", "must be an integer")):
        result = _manage("check", **PRODUCTION, GEOGRID_DEMO_HISTORY_REPORTS=value)
        assert result.returncode != 0
        assert "GEOGRID_DEMO_HISTORY_REPORTS" in result.stderr and message in result.stderr
