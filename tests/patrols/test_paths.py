"""Path checks: an inspector's report and a street-side component change are compared with
where the inspector's track was at that moment, and flagged, never refused."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from geogrid.cases.errors import ReportError
from geogrid.cases.intake import submit_report
from geogrid.cases.models import Case
from geogrid.components.models import ComponentClass, ComponentEvent
from geogrid.components.services import change_component_status, create_component
from geogrid.patrols.models import PathCheck
from geogrid.patrols.paths import check_path, track_position
from geogrid.patrols.services import record_points, start_patrol
from tests import factories
from tests.cases.conftest import GARBAGE
from tests.geometry import point
from tests.patrols.factories import east_along, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def walking(inspector, settings):
    """The inspector walks east along y = 150 at 1 m/s, x = 10 m at `start`, until now."""
    settings.GEOGRID_PATH_CHECK_DISTANCE_M = 50.0
    settings.GEOGRID_PATH_CHECK_WINDOW_S = 120
    start = (timezone.now() - timedelta(seconds=170)).replace(microsecond=0)
    patrol, _ = start_patrol(actor=inspector, client_id=uuid.uuid4(), started_at=start)
    record_points(
        actor=inspector, patrol=patrol, points=walk(east_along(150, 10, 170), start=start)
    )
    return start


def test_the_track_position_is_interpolated_between_points(inspector, walking):
    lon, lat = track_position(inspector.pk, walking + timedelta(seconds=45))
    expected = point(55, 150)  # halfway between the points at x = 50 and x = 60
    assert lon == pytest.approx(expected.x, abs=1e-7)
    assert lat == pytest.approx(expected.y, abs=1e-7)


def test_no_track_point_within_the_window_means_no_track(inspector, walking):
    assert track_position(inspector.pk, walking - timedelta(minutes=10)) is None
    far = point(55, 150)
    result = check_path(
        inspector_id=inspector.pk, lon=far.x, lat=far.y, at=walking - timedelta(minutes=10)
    )
    assert result.check == PathCheck.NO_TRACK


def _report(actor, x, y, **extra):
    at = point(x, y)
    return submit_report(
        actor=actor, channel="inspector", service_code=GARBAGE, x=at.x, y=at.y, **extra
    ).case


def test_a_report_where_the_inspector_walked_is_on_track(inspector, walking):
    case = _report(inspector, 165, 160)  # 10 m from the last point, the moment it was made
    assert case.path_check == PathCheck.ON_TRACK
    assert case.path_distance_m == pytest.approx(11.2, abs=1.5)
    case.refresh_from_db()
    assert case.path_check == PathCheck.ON_TRACK


def test_a_report_far_from_the_track_is_flagged_not_refused(inspector, walking):
    case = _report(inspector, 165, 20)  # 130 m south of where the track was
    case.refresh_from_db()
    assert case.path_check == PathCheck.OFF_TRACK
    assert case.path_distance_m == pytest.approx(130, abs=2)


def test_a_queued_report_is_checked_at_the_time_the_phone_wrote_it(inspector, walking):
    # Written at x = 20 a while ago, sent now: on track then, 150 m off the track's end now.
    case = _report(inspector, 20, 150, observed_at=walking + timedelta(seconds=10))
    assert case.path_check == PathCheck.ON_TRACK
    assert case.observed_at == walking + timedelta(seconds=10)


def test_a_report_made_without_any_patrol_is_flagged(inspector, city):
    case = _report(inspector, 50, 150)
    assert case.path_check == PathCheck.NO_TRACK


def test_reports_not_made_by_an_inspector_are_not_checked(city, admin_user):
    operator = factories.user("operator-p", "operator")
    case = _report(operator, 50, 150)
    assert case.path_check == PathCheck.NOT_CHECKED
    citizen = submit_report(
        actor=None,
        channel="citizen",
        service_code=GARBAGE,
        x=point(50, 150).x,
        y=point(50, 150).y,
    ).case
    assert citizen.path_check == PathCheck.NOT_CHECKED


def test_a_component_status_change_by_an_inspector_records_its_path_check(
    inspector, walking, admin_user
):
    manhole = ComponentClass.objects.get(scheme="gbt47678", code="01001")
    near = create_component(actor=admin_user, component_class=manhole, geom=point(160, 155))
    far = create_component(actor=admin_user, component_class=manhole, geom=point(20, 20))
    change_component_status(component=near, actor=inspector, status="damaged")
    change_component_status(component=far, actor=inspector, status="damaged")
    change_component_status(component=far, actor=admin_user, status="intact")
    details = [e.details for e in ComponentEvent.objects.filter(action="status").order_by("id")]
    assert details[0]["path_check"] == PathCheck.ON_TRACK
    assert details[1]["path_check"] == PathCheck.OFF_TRACK
    assert details[1]["path_distance_m"] > 100
    assert "path_check" not in details[2]  # not made on the street


def test_client_id_makes_a_resent_report_return_the_first_case(inspector, city):
    client_id = uuid.uuid4()
    first = submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=point(50, 150).x,
        y=point(50, 150).y,
        client_id=client_id,
    )
    again = submit_report(
        actor=inspector,
        channel="inspector",
        service_code=GARBAGE,
        x=point(50, 150).x,
        y=point(50, 150).y,
        client_id=client_id,
    )
    assert (first.repeated, again.repeated) == (False, True)
    assert again.case.pk == first.case.pk
    assert Case.objects.filter(client_id=client_id).count() == 1


def test_an_observed_time_in_the_future_is_refused(inspector, city):
    with pytest.raises(ReportError, match="future"):
        _report(inspector, 50, 150, observed_at=timezone.now() + timedelta(hours=2))
    assert not Case.objects.exists()
