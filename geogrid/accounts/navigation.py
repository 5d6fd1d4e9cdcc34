"""Which pages the navigation offers a user: the `nav` of every template (templates/base.html).

A link is shown exactly when its page would let the user in. The roles are not listed here:
they are read off each page view's `core.permissions.role_required` rule, so a page that
changes who may open it changes its link too (docs/architecture.md §9.3). The pages are found
by URL name through the resolver, which keeps this module free of the later apps' imports
(docs/architecture.md §2.2).
"""

from __future__ import annotations

import functools

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import get_script_prefix, resolve, reverse

from geogrid.core.actors import Actor
from geogrid.core.permissions import has_role, page_roles

# The role-restricted pages the navigation links to, by URL name; a template reads each as
# `nav.<name with underscores>` (case-report → nav.case_report).
NAV_PAGES = (
    "patrol-field",
    "case-report",
    "case-desk",
    "case-inbox",
    "case-checks",
    "grid-editor",
    "command-center",
    "command-center-patrols",
)


@functools.cache
def roles_of_page(url_name: str) -> tuple[str, ...]:
    """The roles the page named `url_name` lets in (admins always may)."""
    # reverse() puts the script prefix in front of the path; resolve() wants the path without.
    path = "/" + reverse(url_name).removeprefix(get_script_prefix())
    roles = page_roles(resolve(path).func)
    if roles is None:
        raise ImproperlyConfigured(
            f"The page {url_name!r} is in the navigation but its view has no "
            "core.permissions.role_required rule to say who may open it."
        )
    return roles


def may_open(user: Actor | None, url_name: str) -> bool:
    return has_role(user, *roles_of_page(url_name))


def navigation(request: HttpRequest) -> dict[str, dict[str, bool]]:
    """Context processor: `nav`, each entry of NAV_PAGES → whether the user may open it."""
    user = getattr(request, "user", None)
    return {"nav": {name.replace("-", "_"): may_open(user, name) for name in NAV_PAGES}}
