"""gunicorn settings for GeoGrid: `make serve`, `make demo`, deploy/geogrid-web.service and the
tests that run the production path (tests/gunicorn.py) all start gunicorn with this file.

Every value can be changed from the environment, so a server's /etc/geogrid/geogrid.env is the
one place to tune it (docs/operations.md, "Settings"). A command-line flag still wins over this
file (`gunicorn -c gunicorn.conf.py --bind …`).
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {value!r}") from None


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0, not {value!r}")


wsgi_app = "geogrid.wsgi:application"

# Loopback by default: the web server in front (deploy/nginx/geogrid.conf) terminates TLS and
# proxies here. Binding a public address directly would serve plain HTTP to the world.
bind = [
    address.strip()
    for address in os.environ.get("GEOGRID_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]

# Threaded workers (gthread), not sync ones: a sync worker that accepts a connection blocks until
# the client sends a request on it, and browsers open spare connections they may never use
# (preconnect) — with nothing buffering in front (make serve, make demo), two such sockets stall
# two sync workers until gunicorn kills them. gthread waits for a request in a poller and only
# then hands the connection to a thread, and keeps idle keep-alive connections the same way.
# One process per core plus one keeps every core busy (the threads of one process share its
# GIL, so they cover database waits, not CPU). Each thread holds its own database connection
# (CONN_MAX_AGE), so workers × threads × servers must stay below the database's
# max_connections (100 by default; 12 on a 2-core server with the defaults).
workers = _int("GEOGRID_WEB_WORKERS", multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = _int("GEOGRID_WEB_THREADS", 4)

# A request that runs longer than this is killed (the worker restarts). It is kept above the
# database's statement_timeout for web requests (GEOGRID_STATEMENT_TIMEOUT_S, 30 s), so a slow
# query ends with PostgreSQL's clean error and a 5xx page first, not with a killed worker.
timeout = _int("GEOGRID_WEB_TIMEOUT_S", 60)
# `systemctl reload` (HUP) and `stop` (TERM) let running requests finish within this time.
graceful_timeout = _int("GEOGRID_WEB_GRACEFUL_TIMEOUT_S", 30)
# nginx keeps upstream connections open (keepalive in deploy/nginx/geogrid.conf); a little
# longer than one round trip of the proxy, short enough not to tie up sync workers.
keepalive = _int("GEOGRID_WEB_KEEPALIVE_S", 5)

# Recycle each worker after this many requests (± jitter, so they do not all restart at once):
# bounds the memory a long-lived worker can accumulate (GDAL/GEOS caches, fragmentation).
max_requests = _int("GEOGRID_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GEOGRID_WEB_MAX_REQUESTS_JITTER", 200)

# Not preloaded by default: on `systemctl reload` (HUP) gunicorn then starts new workers that
# import the new code and stops the old ones gracefully, which is how an upgrade restarts
# without dropping a request (docs/operations.md, "Upgrades"). Preloading would share the
# imported code's memory between workers and start them faster (it is safe: nothing opens a
# database connection or a thread at import time), but HUP would keep serving the old code.
# GEOGRID_WEB_PRELOAD=1 chooses that; upgrades then need `systemctl restart`.
preload_app = _bool("GEOGRID_WEB_PRELOAD", False)

# No control socket (gunicorn ≥ 25 opens one for `gunicornc` at $HOME/.gunicorn/gunicorn.ctl):
# every gunicorn of the same user would share that one path, and under systemd the service's
# home is read-only (ProtectHome). Reload and stop use signals (deploy/geogrid-web.service).
control_socket_disable = True

# The client's address and scheme reach Django in headers nginx sets (X-Real-IP for
# GEOGRID_CLIENT_IP_HEADER, X-Forwarded-Proto for SECURE_PROXY_SSL_HEADER); nginx overwrites
# both, so gunicorn needs no proxy settings of its own.

# --- Logging ----------------------------------------------------------------------------------
# gunicorn's own lines (start-up, worker timeouts and crashes) in the application's JSON format,
# on stderr (journald keeps them under systemd), through geogrid/core/logs.py. The application
# writes one richer line per request itself (route, status, duration, user id, request id), so
# gunicorn's access log is off unless GEOGRID_ACCESS_LOG=1; its lines are then rebuilt from safe
# fields only (method, path without the query string, status, duration, request id).
from geogrid.core.logs import gunicorn_logconfig_dict  # noqa: E402  (after the helpers above)

_access_log = _bool("GEOGRID_ACCESS_LOG", False)
logconfig_dict = gunicorn_logconfig_dict(access_log=_access_log)
accesslog = "-" if _access_log else None
errorlog = "-"
loglevel = os.environ.get("GEOGRID_WEB_LOG_LEVEL", "info")
