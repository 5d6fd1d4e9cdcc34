"""Audit events are append-only in the database and outlive what they describe."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from geogrid.components.models import Component, ComponentEvent
from geogrid.components.services import create_component
from geogrid.grids.models import GridEvent
from tests import factories
from tests.geometry import point

AUDIT_TABLES = [
    "grids_gridevent",
    "components_componentevent",
    "components_componentimport",
    "cases_caseevent",
    "cases_open311keyevent",
]


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_every_audit_table_has_the_append_only_trigger(db, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "AND tgname = %s",
            [table, f"{table}_append_only"],
        )
        assert cursor.fetchone()[0] == 1


def test_an_audit_event_cannot_be_updated_by_the_orm_or_by_sql(city):
    event = GridEvent.objects.filter(grid=city["west"]).first()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        GridEvent.objects.filter(pk=event.pk).update(action="tampered")
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE grids_gridevent SET details = '{}' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "created"


def test_an_audit_event_cannot_be_deleted(city):
    event = GridEvent.objects.filter(grid=city["west"]).first()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        event.delete()
    assert GridEvent.objects.filter(pk=event.pk).exists()


def test_events_outlive_the_object_they_describe(city, manhole_class, admin_user):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    events = list(
        ComponentEvent.objects.filter(component_id=component.pk).values_list("pk", "action")
    )
    assert events
    Component.objects.filter(pk=component.pk).delete()
    kept = list(
        ComponentEvent.objects.filter(component_id=component.pk).values_list("pk", "action")
    )
    assert kept == events


def test_a_user_who_acted_cannot_be_deleted_so_events_keep_their_actor(city, admin_user):
    actor = factories.user("planner-who-acted", "planner")
    from geogrid.grids.services.editing import update_grid_attributes

    update_grid_attributes(grid=city["west"], actor=actor, name="新名字")
    with pytest.raises(ProtectedError), transaction.atomic():
        actor.delete()
    event = GridEvent.objects.get(grid=city["west"], action="updated")
    assert event.actor_id == actor.pk


def test_the_admin_offers_no_change_or_delete_of_audit_events(admin_client, city):
    client = admin_client
    event = GridEvent.objects.filter(grid=city["west"]).first()
    page = client.get(f"/admin/grids/gridevent/{event.pk}/change/")
    assert page.status_code == 200  # readable
    assert 'name="_save"' not in page.content.decode()
    assert client.get(f"/admin/grids/gridevent/{event.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/grids/gridevent/", {"action": "delete_selected", "_selected_action": [event.pk]}
    )
    assert GridEvent.objects.filter(pk=event.pk).exists()
    assert response.status_code in (200, 302)
