"""What each audience may see of cases (README "Privacy model"; the rule is
geogrid/core/privacy.py).

- Staff see the cases `Case.objects.visible_to` gives them (their scope); the reporter's
  contact (name, phone, e-mail, device, account) only the operators and admins who call back.
  Who took a photo and who moved a case are staff-only.
- The public (anonymous, Open311 readers, role-less accounts) sees every case only as a
  GeoReport request: category, status, dates, department. A case that came in through a
  public channel (GEOGRID_PUBLIC_CASE_CHANNELS, default open311 and citizen — the reporter
  meant it to be public) also shows its description, address, point and report photos. An
  internal report (inspector, hotline, video, api) shows none of these: its position is
  omitted or coarsened (GEOGRID_PRIVATE_CASE_POSITION), and its photos are never served to
  the public (a hotline caller or a video still may show people).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from geogrid.accounts.models import CITY_WIDE_ROLES
from geogrid.cases.models import Case, CasePhoto, PhotoStage
from geogrid.core.permissions import user_role
from geogrid.core.privacy import FieldPolicy, private_position, register_media_owner

CONTACT_FIELDS = ("reporter_name", "reporter_phone", "reporter_email", "device_id", "account_id")
# The path check judges an inspector's work: staff only.
PATH_CHECK_FIELDS = ("observed_at", "path_check", "path_check_label", "path_distance_m")
CASE = FieldPolicy("case", staff=frozenset(PATH_CHECK_FIELDS), contact=frozenset(CONTACT_FIELDS))
CASE_PHOTO = FieldPolicy("case photo", staff=frozenset({"uploaded_by"}))
CASE_EVENT = FieldPolicy("case event", staff=frozenset({"actor"}))
MEDIA_FOLDER = "cases"


def public_channels() -> frozenset[str]:
    return frozenset(settings.GEOGRID_PUBLIC_CASE_CHANNELS)


def is_public_case(case: Any) -> bool:
    """Whether the reporter made the case public by the way they sent it."""
    return case.channel in public_channels()


@dataclass(frozen=True)
class PublicCase:
    """The parts of a case the public may see beyond its category, status, dates and
    department (which are always public)."""

    public: bool
    description: str
    address: str
    position: tuple[float, float] | None  # (lon, lat), exact or coarsened; None: omitted
    shows_photos: bool
    names_grid: bool  # a unit grid is ~100 m: it places a private case too well


def public_view(case: Any) -> PublicCase:
    if is_public_case(case):
        return PublicCase(
            public=True,
            description=case.description,
            address=case.address,
            position=(case.geom.x, case.geom.y),
            shows_photos=True,
            names_grid=True,
        )
    return PublicCase(
        public=False,
        description="",
        address="",
        position=private_position(case.geom.x, case.geom.y),
        shows_photos=False,
        names_grid=False,
    )


def visible_duplicates(duplicates: list[dict[str, Any]], user: Any) -> list[dict[str, Any]]:
    """The possible duplicates of a report that the user may see (their ids and statuses
    would otherwise disclose cases outside the user's scope)."""
    if user_role(user) in CITY_WIDE_ROLES:
        return duplicates
    ids = [d.get("id") for d in duplicates if isinstance(d, dict)]
    if not ids:
        return []
    visible = set(Case.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    return [d for d in duplicates if isinstance(d, dict) and d.get("id") in visible]


def may_read_photo_file(path: str, user: Any) -> bool:
    """Case photos (report, feedback, check): to those who may see the case; to everyone else
    only the report photos of a public-channel case, while the public read API is on."""
    photo = (
        CasePhoto.objects.filter(Q(image=path) | Q(preview=path))
        .select_related("case")
        .only("stage", "case__channel", "case_id")
        .first()
    )
    if photo is None:
        return False
    if Case.objects.visible_to(user).filter(pk=photo.case_id).exists():
        return True
    return (
        settings.GEOGRID_PUBLIC_READ_API
        and photo.stage == PhotoStage.REPORT
        and is_public_case(photo.case)
    )


def register() -> None:
    register_media_owner(MEDIA_FOLDER, may_read_photo_file)
