"""Which code scheme this deployment's components and case categories use (read-only).

Its own module so that the apps that only read the scheme (cases, command_center) need not
import the component services, which write (docs/architecture.md §3.1).
"""

from __future__ import annotations

from django.conf import settings


def active_scheme() -> str:
    return settings.GEOGRID_COMPONENT_SCHEME
