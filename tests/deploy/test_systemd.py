"""deploy/'s systemd units: systemd itself accepts them (`systemd-analyze verify`, offline), every
ExecStart names a real management command or gunicorn with the repository's config, and every
timer starts a one-shot service that exists."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALLED = "/srv/geogrid"  # where the units expect the checkout (docs/operations.md)
UNITS = sorted(DEPLOY.glob("geogrid-*.service")) + sorted(DEPLOY.glob("geogrid-*.timer"))


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(path, encoding="utf-8")
    return parser


def test_deploy_ships_the_web_service_and_a_timer_for_each_periodic_job():
    names = {unit.name for unit in UNITS}
    assert "geogrid-web.service" in names
    for job in ("flag-overdue", "clearsessions", "purge-expired", "backup", "seed-tiles"):
        assert {f"geogrid-{job}.service", f"geogrid-{job}.timer"} <= names


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    # The units name /srv/geogrid and /etc/geogrid; verify checks that ExecStart's program
    # exists, so the copies point at this checkout (its .venv) and an empty environment file.
    systemd_analyze = shutil.which("systemd-analyze")
    assert systemd_analyze, "systemd-analyze is missing: `make test` installs Debian's systemd"
    env_file = tmp_path / "geogrid.env"
    env_file.write_text("", encoding="utf-8")
    for unit in UNITS:
        text = (
            unit.read_text(encoding="utf-8")
            .replace(INSTALLED, str(ROOT))
            .replace("/etc/geogrid/geogrid.env", str(env_file))
        )
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [systemd_analyze, "verify", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr, result.stderr  # an unknown key is only a warning


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_every_exec_start_names_a_real_command(unit):
    service = _unit(unit)["Service"]
    program, *args = shlex.split(service["ExecStart"])
    assert service["WorkingDirectory"] == INSTALLED
    assert service["EnvironmentFile"] == "/etc/geogrid/geogrid.env"
    assert service["User"] == "geogrid"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    if program.endswith("/gunicorn"):
        assert program == f"{INSTALLED}/.venv/bin/gunicorn"
        assert args == ["--config", f"{INSTALLED}/gunicorn.conf.py"]
        assert (ROOT / "gunicorn.conf.py").exists()
        assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"  # graceful reload
    else:
        assert program == f"{INSTALLED}/.venv/bin/python"
        manage, command, *_ = args
        assert manage == f"{INSTALLED}/manage.py"
        assert command in get_commands(), f"{unit.name}: no management command {command!r}"
        assert service["Type"] == "oneshot"


@pytest.mark.parametrize("timer", [u for u in UNITS if u.suffix == ".timer"], ids=lambda u: u.name)
def test_every_timer_starts_its_one_shot_service(timer):
    parsed = _unit(timer)
    # A timer without Unit= starts the service of its own name.
    service = DEPLOY / parsed["Timer"].get("Unit", timer.with_suffix(".service").name)
    assert service.exists()
    assert _unit(service)["Service"]["Type"] == "oneshot"
    assert parsed["Timer"]["OnCalendar"]
    assert parsed["Install"]["WantedBy"] == "timers.target"


def test_flag_overdue_runs_every_five_minutes():
    # flag_overdue's own help says: every few minutes; overdue flags feed the command center.
    calendar = _unit(DEPLOY / "geogrid-flag-overdue.timer")["Timer"]["OnCalendar"]
    result = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=3", calendar],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert calendar == "*:0/5"
