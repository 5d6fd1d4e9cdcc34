"""deploy/nginx: the example matches the settings GeoGrid trusts it for (the header names, the
upload limit, the protected-media location, the health checks). nginx itself is not installed
for the tests (its Debian package starts a server on port 80), so this reads the text."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
NGINX = ROOT / "deploy" / "nginx"
SITE = (NGINX / "geogrid.conf").read_text(encoding="utf-8")
PROXY = (NGINX / "geogrid-proxy.conf").read_text(encoding="utf-8")


def _env_example() -> dict[str, str]:
    text = (ROOT / "deploy" / "geogrid.env.example").read_text(encoding="utf-8")
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_nginx_redirects_plain_http_and_terminates_tls():
    assert re.search(
        r"listen 80;\s+listen \[::\]:80;\s+server_name [^;]+;\s+"
        r"(#[^\n]*\n\s*)*return 301 https://\$host\$request_uri;",
        SITE,
    )
    assert "listen 443 ssl" in SITE and "ssl_certificate_key" in SITE


def test_nginx_overwrites_the_headers_django_trusts():
    env = _env_example()
    # SECURE_PROXY_SSL_HEADER and GEOGRID_CLIENT_IP_HEADER read exactly these two headers.
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in PROXY
    assert env["GEOGRID_BEHIND_TLS_PROXY"] == "1"
    assert env["GEOGRID_CLIENT_IP_HEADER"] == "HTTP_X_REAL_IP"
    assert "proxy_set_header X-Real-IP $remote_addr;" in PROXY
    # Every location that proxies includes the header file.
    assert SITE.count("proxy_pass http://geogrid;") == SITE.count(
        "include /etc/nginx/geogrid-proxy.conf;"
    )


def test_nginx_upload_limit_matches_geogrid_max_upload_mb():
    size = re.search(r"client_max_body_size (\d+)m;", SITE).group(1)
    assert (
        int(size) == int(_env_example()["GEOGRID_MAX_UPLOAD_MB"]) == settings.GEOGRID_MAX_UPLOAD_MB
    )


def test_nginx_protected_media_is_internal_and_matches_the_accel_settings():
    env = _env_example()
    assert env["GEOGRID_MEDIA_ACCEL"] == "nginx"
    prefix = env["GEOGRID_MEDIA_ACCEL_PREFIX"]
    assert prefix == settings.GEOGRID_MEDIA_ACCEL_PREFIX
    block = re.search(rf"location {re.escape(prefix)} \{{([^}}]*)\}}", SITE).group(1)
    assert "internal;" in block
    media_root = Path(settings.MEDIA_ROOT).relative_to(settings.BASE_DIR)
    assert f"alias /srv/geogrid/{media_root}/;" in block


def test_nginx_passes_the_health_checks_through():
    for path in ("/healthz", "/readyz"):
        assert re.search(rf"location = {path}\s+\{{ proxy_pass http://geogrid;", SITE)


def test_nginx_compresses_nothing_so_pages_with_csrf_tokens_stay_plain():
    # Debian's nginx.conf has `gzip on;` for text/html; the site must turn it off (BREACH).
    assert re.search(r"^\s*gzip off;", SITE, re.MULTILINE)
    assert not re.search(r"^\s*gzip on;", SITE + PROXY, re.MULTILINE)
