"""deploy/geogrid.env.example: every variable it sets is one GeoGrid reads, and with those
values the production settings pass Django's deployment checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "geogrid.env.example"


def _variables(*, commented: bool) -> dict[str, str]:
    pattern = re.compile(r"^(#)?([A-Z][A-Z0-9_]+)=(.*)$")
    found = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line)
        if match and (commented or not match.group(1)):
            found[match.group(2)] = match.group(3)
    return found


def test_env_example_names_only_variables_geogrid_reads():
    sources = "".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "geogrid" / "settings.py", ROOT / "gunicorn.conf.py")
    )
    for name in _variables(commented=True):
        assert f'"{name}"' in sources, f"{name} is read by neither settings.py nor gunicorn.conf.py"


def test_env_example_passes_the_deployment_checks(tmp_path):
    secret = tmp_path / "secret-key"
    secret.write_text(
        "an-example-secret-of-sixty-characters-q8Zr4Lm2Vt9Nb5Kd7Hw3xx\n", encoding="utf-8"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DJANGO_ALLOW_ASYNC_UNSAFE" and not k.startswith("GEOGRID_")
    }
    env.update(
        _variables(commented=False),
        GEOGRID_SECRET_KEY_FILE=str(secret),
        DJANGO_SETTINGS_MODULE="geogrid.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
