"""Intake: taking in a report from any channel (docs/domain.md §5.4).

A hot path (every report from every channel; docs/architecture.md §4.3): after the checks that
need no database (the category, kept briefly per process; the coordinates; the photos; the named
component when there is one) the report is written by cases/intake_store.py, usually in one
prepared statement. An Open311 POST goes through submit_open311_report, which first recognises a
client's retry of a report it has already sent.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.accounts.models import Role
from geogrid.cases.duplicates import Duplicate
from geogrid.cases.errors import ReportError
from geogrid.cases.intake_store import insert_in_one_statement, insert_step_by_step
from geogrid.cases.models import Case, CaseClass, Channel, Open311Key, PhotoStage
from geogrid.cases.photos import save_photos
from geogrid.components.models import Component
from geogrid.components.schemes import active_scheme
from geogrid.core.codes import CodeError, parse_component_code
from geogrid.core.crs import point_to_storage
from geogrid.core.db import raw_cursor
from geogrid.core.logs import log_on_commit
from geogrid.core.permissions import user_role
from geogrid.core.photos import CheckedPhoto
from geogrid.patrols.models import PathCheck
from geogrid.patrols.paths import PathResult, check_path

logger = logging.getLogger(__name__)


@dataclass
class IntakeResult:
    case: Case
    duplicates: list[Duplicate] = field(default_factory=list)
    # True when the report repeats one the same reporter sent with the same client id: the
    # case is the first one's and nothing new was written.
    repeated: bool = False


# Categories change rarely and every report needs one: each process keeps what it read for
# CLASS_CACHE_SECONDS (an edit in the admin reaches every server process within that time).
CLASS_CACHE_SECONDS = 30.0
_class_cache: dict[tuple[str, str], tuple[float, CaseClass]] = {}


def clear_case_class_cache() -> None:
    _class_cache.clear()


def case_class_for(service_code: str, *, scheme: str | None = None) -> CaseClass:
    code = (service_code or "").strip()
    if not code:
        raise ReportError("Give the category of the problem (service_code).", field="service_code")
    key = (scheme or active_scheme(), code)
    cached = _class_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < CLASS_CACHE_SECONDS:
        return cached[1]
    found = (
        CaseClass.objects.select_related("department", "component_class")
        .filter(scheme=key[0], service_code=code, active=True)
        .first()
    )
    if found is None:
        _class_cache.pop(key, None)
        raise ReportError(
            f"There is no active category {code!r}; the list of categories is "
            "at /open311/v2/services.json.",
            field="service_code",
        )
    _class_cache[key] = (time.monotonic(), found)
    return found


def _named_component(code: str, case_class: CaseClass, lon: float, lat: float) -> Component | None:
    code = (code or "").strip()
    if not code:
        return None
    try:
        parse_component_code(code)
    except (CodeError, ValueError) as exc:
        raise ReportError(
            f"Component code {code!r} is not valid: {exc}", field="component_code"
        ) from exc
    component = (
        Component.objects.select_related("component_class", "owner_department")
        .filter(code=code, district_code=code[:6])
        .first()
    )
    if component is None:
        raise ReportError(f"There is no component {code}.", field="component_code")
    wanted = case_class.component_class  # select_related by case_class_for: no query
    if wanted is not None and component.component_class_id != wanted.pk:
        raise ReportError(
            f"Component {code} is a {component.component_class.name}, not a "
            f"{wanted.name}; choose the category that matches it.",
            field="component_code",
        )
    distance = _metres(lon, lat, component.geom.centroid.x, component.geom.centroid.y)
    limit = float(settings.GEOGRID_COMPONENT_MAX_DISTANCE_M)
    if distance > limit:
        raise ReportError(
            f"Component {code} lies {distance:,.0f} m from the reported point (at most "
            f"{limit:,.0f} m): check the code or the location.",
            field="component_code",
        )
    return component


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius): enough for a plausibility check."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def submit_report(
    *,
    actor: Actor | None,
    channel: str,
    service_code: str,
    x: float,
    y: float,
    crs: str | int | None = None,
    description: str = "",
    address: str = "",
    component_code: str = "",
    photos: Sequence[CheckedPhoto] = (),
    reporter_name: str = "",
    reporter_phone: str = "",
    reporter_email: str = "",
    device_id: str = "",
    account_id: str = "",
    open311_key: Open311Key | None = None,
    client_id: uuid.UUID | None = None,
    observed_at: datetime | None = None,
) -> IntakeResult:
    """Take in one report: normalise the point, store the grid path, route the department, list
    possible duplicates, and check an inspector's report against their patrol track. Bad input
    raises ReportError (or the CRS/coordinate errors of core.crs) before anything is written.

    `client_id` (from the reporter's phone) makes a resent report recognisable: the same
    reporter's second report with it returns the first case (`repeated`), under an advisory
    lock so that two copies racing each other make one case. `observed_at` is when the phone
    wrote the report (it may have waited offline); the path check uses it."""
    reporter = actor if getattr(actor, "pk", None) else None

    def submit() -> IntakeResult:
        return _submit(
            actor=actor,
            channel=channel,
            service_code=service_code,
            x=x,
            y=y,
            crs=crs,
            description=description,
            address=address,
            component_code=component_code,
            photos=photos,
            reporter_name=reporter_name,
            reporter_phone=reporter_phone,
            reporter_email=reporter_email,
            device_id=device_id,
            account_id=account_id,
            open311_key=open311_key,
            client_id=client_id,
            observed_at=observed_at,
        )

    if client_id is None or reporter is None:
        return submit()
    with transaction.atomic():
        digest = hashlib.blake2b(f"{reporter.pk}:{client_id}".encode(), digest_size=8).digest()
        with raw_cursor(for_write=True) as cursor:
            cursor.execute(
                _REPEAT_LOCK_SQL, (int.from_bytes(digest, "big", signed=True),), prepare=True
            )
        first = (
            Case.objects.select_related("grid", "department", "case_class")
            .filter(reporter=reporter, client_id=client_id)
            .first()
        )
        if first is not None:
            return IntakeResult(case=first, repeated=True)
        return submit()  # inside the lock's transaction: a racing copy waits for this case


def _submit(
    *,
    actor: Actor | None,
    channel: str,
    service_code: str,
    x: float,
    y: float,
    crs: str | int | None,
    description: str,
    address: str,
    component_code: str,
    photos: Sequence[CheckedPhoto],
    reporter_name: str,
    reporter_phone: str,
    reporter_email: str,
    device_id: str,
    account_id: str,
    open311_key: Open311Key | None,
    client_id: uuid.UUID | None,
    observed_at: datetime | None,
) -> IntakeResult:
    if channel not in Channel.values:
        raise ReportError(f"Unknown channel {channel!r}.", field="channel")
    if len(photos) > settings.GEOGRID_MAX_PHOTOS:
        raise ReportError(
            f"At most {settings.GEOGRID_MAX_PHOTOS} photos per report.", field="media"
        )
    case_class = case_class_for(service_code)
    lon, lat = point_to_storage(x, y, crs)
    component = _named_component(component_code, case_class, lon, lat)
    now = timezone.now()
    _check_observed_at(observed_at, now)
    reporter = actor if getattr(actor, "pk", None) else None
    path = _path_check(reporter, channel, lon, lat, observed_at or now)
    case = Case(
        channel=channel,
        case_class=case_class,
        kind=case_class.kind,
        component=component,
        description=description.strip(),
        address=address.strip()[:255],
        # Django keeps an EWKT string as it is (no GEOS object on this hot path).
        geom=f"SRID=4490;POINT({lon!r} {lat!r})",  # type: ignore[misc]  # django-stubs: a geometry field also takes WKT/EWKT/HEXEWKB strings
        submitted_point={"x": x, "y": y, "crs": str(crs or "EPSG:4490")},
        reporter=reporter,
        reporter_name=reporter_name.strip()[:100],
        reporter_phone=reporter_phone.strip()[:40],
        reporter_email=reporter_email.strip(),
        device_id=device_id.strip()[:100],
        account_id=account_id.strip()[:100],
        open311_key=open311_key,
        reported_at=now,
        updated_at=now,
        observed_at=observed_at,
        client_id=client_id,
        path_check=path.check,
        path_distance_m=path.distance_m,
    )
    owner = component.owner_department_id if component is not None else None
    if not photos:
        # The common case: one statement writes the case and its event, which makes it one
        # transaction by itself (no BEGIN/COMMIT round trips around it).
        duplicates = insert_in_one_statement(case, lon=lon, lat=lat, owner=owner)
        if duplicates is not None:
            case._state.adding = False
            return _reported(case, duplicates)
    with transaction.atomic():
        duplicates = (
            insert_in_one_statement(case, lon=lon, lat=lat, owner=owner) if photos else None
        )  # without photos it has just been tried
        if duplicates is None:  # no finest-level grid covers the point: the general path
            duplicates = insert_step_by_step(case, lon=lon, lat=lat, owner=owner)
        case._state.adding = False
        save_photos(case, photos, stage=PhotoStage.REPORT, actor=case.reporter)
    return _reported(case, duplicates)


def _check_observed_at(observed_at: datetime | None, now: datetime) -> None:
    if observed_at is None:
        return
    skew = timedelta(seconds=int(settings.GEOGRID_PATROL_CLOCK_SKEW_S))
    if observed_at > now + skew:
        raise ReportError(
            "observed_at lies in the future: check the phone's clock and time zone.",
            field="observed_at",
        )
    days = int(settings.GEOGRID_PATROL_MAX_POINT_AGE_DAYS)
    if observed_at < now - timedelta(days=days):
        raise ReportError(
            f"observed_at is more than {days} days ago; a report waits in the phone for "
            "hours, not weeks. Report it again with today's time.",
            field="observed_at",
        )


def _path_check(
    reporter: Actor | None, channel: str, lon: float, lat: float, at: datetime
) -> PathResult:
    """An inspector's own report is checked against their track (docs/domain.md §8.4);
    every other report is not checked."""
    if reporter is None or channel != Channel.INSPECTOR or user_role(reporter) != Role.INSPECTOR:
        return PathResult(PathCheck.NOT_CHECKED)
    return check_path(inspector_id=reporter.pk, lon=lon, lat=lat, at=at)


def _reported(case: Case, duplicates: list[Duplicate]) -> IntakeResult:
    # What came in, never who reported it or what they wrote (README, "Security and privacy").
    log_on_commit(
        logger,
        "case reported",
        case_id=case.pk,
        channel=case.channel,
        service_code=case.case_class.service_code,
        grid_code=case.grid_code,
        open311_key_id=case.open311_key_id,
        duplicates=len(duplicates),
        path_check=case.path_check,
    )
    return IntakeResult(case=case, duplicates=duplicates)


_REPEAT_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
# The first case of the same key, category, description and point within the window: the
# key's cases come from its index, the rest are filters on those few rows.
_REPEAT_SQL = """
    SELECT id FROM cases_case
    WHERE open311_key_id = %s AND case_class_id = %s AND description = %s
      AND reported_at >= %s AND geom ~= ST_SetSRID(ST_MakePoint(%s, %s), 4490)
    ORDER BY id LIMIT 1"""


def submit_open311_report(
    *,
    open311_key: Open311Key,
    service_code: str,
    x: float,
    y: float,
    description: str = "",
    **report: Any,
) -> tuple[Case, bool]:
    """An Open311 POST: a repeat of one the same key sent within
    GEOGRID_OPEN311_REPEAT_WINDOW_S (same service, point and description) returns the first
    case, not a second one; the flag says whether a case was created. Clients retry a POST
    whose answer they lost; without this every retry is one more case for the command center.
    Two identical posts racing each other serialise on an advisory lock keyed by the tuple,
    held until the first one's case is committed, so the second one finds it."""

    # The text is an argument because the repeat check strips it before it creates the case.
    def created(text: str) -> tuple[Case, bool]:
        result = submit_report(
            actor=None,
            channel=Channel.OPEN311,
            open311_key=open311_key,
            service_code=service_code,
            x=x,
            y=y,
            crs=4326,
            description=text,
            **report,
        )
        return result.case, True

    window = int(settings.GEOGRID_OPEN311_REPEAT_WINDOW_S)
    if window <= 0:
        return created(description)
    lon, lat = point_to_storage(x, y, 4326)
    description = description.strip()
    case_class = case_class_for(service_code)
    digest = hashlib.blake2b(
        repr((open311_key.pk, service_code, lon, lat, description)).encode(), digest_size=8
    ).digest()
    with transaction.atomic():
        # Two statements on purpose: in READ COMMITTED each statement reads the data committed
        # when it starts, so the lookup must start after the lock is granted to see the case
        # of a twin that held it. Both prepared: this runs on every Open311 POST.
        with raw_cursor(for_write=True) as cursor:  # on the primary, as all of intake
            cursor.execute(
                _REPEAT_LOCK_SQL, (int.from_bytes(digest, "big", signed=True),), prepare=True
            )
            row = cursor.execute(
                _REPEAT_SQL,
                (
                    open311_key.pk,
                    case_class.pk,
                    description,
                    timezone.now() - timedelta(seconds=window),
                    lon,
                    lat,
                ),
                prepare=True,
            ).fetchone()
        if row is not None:
            return Case.objects.select_related("grid", "department").get(pk=row[0]), False
        # Inside the lock's transaction: a twin waiting on the lock must find this case.
        return created(description)
