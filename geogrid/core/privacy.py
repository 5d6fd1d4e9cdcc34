"""Who sees what: the privacy model described in the README ("Security and privacy" › "Privacy
model"), in one place.

Every public output — the grids and components APIs, Open311 GET, tiles, grid history, media —
asks this module what an audience may see, instead of deciding for itself:

- `audience_of(user)` turns whoever asks into an `Audience`: the PUBLIC audience (anonymous
  visitors, Open311 readers, and logged-in accounts that have not been granted a role yet), or
  staff with their role.
- `FieldPolicy` is how an app declares, next to its serializers, which fields of one of its
  objects are staff-only (`staff`) and which only the reporter's handlers see (`contact`); its
  `redact()` removes what the audience may not see. The declarations live in the apps
  (grids/privacy.py, components/privacy.py, cases/privacy.py) because `core` knows no domain
  (app layering core ← accounts ← grids ← components ← cases); the rule they apply is here.
- `private_position()` is what becomes of the exact point of a non-public object
  (GEOGRID_PRIVATE_CASE_POSITION: omit, or coarsen to GEOGRID_PRIVATE_CASE_COARSEN_M).
- Media: each app registers, for its upload folder, a check "may this user read this file?"
  (`register_media_owner`); `may_read_media()` answers False for a file no app claims, so
  nothing under MEDIA_ROOT is ever public by default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from geogrid.core.actors import Actor
from geogrid.core.permissions import ADMIN_ROLE, user_role

# Roles that see the reporter's contact (name, phone, e-mail, device, account): the people who
# call the reporter back. Plain strings: core knows the role names, not the accounts app.
CONTACT_ROLES = frozenset({"operator", ADMIN_ROLE})


@dataclass(frozen=True)
class Audience:
    """Who reads an answer. `role` is None for the public (anonymous, Open311, role-less)."""

    role: str | None = None

    @property
    def is_public(self) -> bool:
        return not self.role

    @property
    def is_staff(self) -> bool:
        return bool(self.role)

    @property
    def sees_contact(self) -> bool:
        return self.role in CONTACT_ROLES


PUBLIC = Audience(None)


def audience_of(user: Actor | None) -> Audience:
    """The audience of a user (or request.user). A logged-in account without a role is public:
    a new account sees nothing more than a visitor until an admin grants a role."""
    return Audience(user_role(user) or None)


@dataclass(frozen=True)
class FieldPolicy:
    """One object's fields by audience: everything not named is public."""

    name: str
    staff: frozenset[str] = frozenset()  # any role; never the public
    contact: frozenset[str] = frozenset()  # only CONTACT_ROLES

    def hidden_from(self, audience: Audience) -> frozenset[str]:
        if audience.sees_contact:
            return frozenset()
        if audience.is_staff:
            return self.contact
        return self.staff | self.contact

    def redact(
        self, data: MutableMapping[str, Any], audience: Audience
    ) -> MutableMapping[str, Any]:
        """Remove, in place, the fields the audience may not see; returns `data`."""
        for name in self.hidden_from(audience):
            data.pop(name, None)
        return data

    def redact_all(self, rows: Iterable[MutableMapping[str, Any]], audience: Audience) -> None:
        for row in rows:
            self.redact(row, audience)


# --- Positions of non-public objects --------------------------------------------------------
POSITION_MODES = ("omit", "coarsen")
METRES_PER_DEGREE = 111_320.0


def coarsen(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """The centre of the cell of a world-aligned grid of `metres` squares that holds the point:
    every point of the cell gives the same answer, so repeated reads reveal nothing finer."""
    step_lat = metres / METRES_PER_DEGREE
    row = math.floor(lat / step_lat)
    centre_lat = (row + 0.5) * step_lat
    step_lon = metres / (METRES_PER_DEGREE * max(math.cos(math.radians(centre_lat)), 0.01))
    column = math.floor(lon / step_lon)
    return round((column + 0.5) * step_lon, 6), round(centre_lat, 6)


def private_position(lon: float, lat: float) -> tuple[float, float] | None:
    """What the public may know of the position of a non-public object: None (omitted, the
    default) or its coarsened point, as GEOGRID_PRIVATE_CASE_POSITION says."""
    if settings.GEOGRID_PRIVATE_CASE_POSITION == "coarsen":
        return coarsen(lon, lat, float(settings.GEOGRID_PRIVATE_CASE_COARSEN_M))
    return None


# --- Media ------------------------------------------------------------------------------------
MediaCheck = Callable[[str, Any], bool]
_MEDIA_OWNERS: dict[str, MediaCheck] = {}


def register_media_owner(folder: str, check: MediaCheck) -> None:
    """An app claims the files under MEDIA_ROOT/<folder>/: `check(path, user)` says whether the
    user may read the file at `path` (relative to MEDIA_ROOT) — False also when no object of
    the app owns it."""
    _MEDIA_OWNERS[folder.strip("/")] = check


def may_read_media(path: str, user: Actor | None) -> bool:
    folder = path.split("/", 1)[0]
    check = _MEDIA_OWNERS.get(folder)
    return check is not None and check(path, user)
