"""Visit schedules edited in the admin go through the service: each save is audited."""

from __future__ import annotations

import pytest

from geogrid.patrols.models import PatrolEvent, VisitSchedule

pytestmark = pytest.mark.django_db


def test_a_schedule_saved_in_the_admin_is_audited(admin_client, city):
    grid = city["110101001001002"]
    answer = admin_client.post(
        "/admin/patrols/visitschedule/add/",
        {"grid": grid.pk, "every_days": 3, "working_days_only": "on", "required": "on"},
    )
    assert answer.status_code == 302, answer.content.decode()[:500]
    schedule = VisitSchedule.objects.get(grid=grid)
    assert (schedule.every_days, schedule.working_days_only) == (3, True)
    event = PatrolEvent.objects.get(action="schedule_changed")
    assert event.details["grid"] == grid.code and event.actor is not None


def test_the_patrol_pages_of_the_admin_are_read_only(admin_client, city):
    assert admin_client.get("/admin/patrols/patrol/").status_code == 200
    assert admin_client.get("/admin/patrols/patrol/add/").status_code == 403
