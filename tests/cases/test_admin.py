"""The Open311 key admin: keys listed without secrets, revoked with an action, never deleted."""

from __future__ import annotations

from geogrid.cases.models import Open311Key
from geogrid.cases.open311_keys import create_open311_key, open311_key_for


def test_open311_key_admin_revokes_selected_keys(admin_client, admin_user):
    record, key = create_open311_key(name="市民通")
    kept_record, kept = create_open311_key(name="12345热线")
    listing = admin_client.get("/admin/cases/open311key/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "市民通" in text and record.prefix in text
    assert key not in text and record.key_hash not in text
    response = admin_client.post(
        "/admin/cases/open311key/", {"action": "revoke", "_selected_action": [record.pk]}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert not record.active and record.revoked_by == admin_user.username
    assert open311_key_for(key) is None and open311_key_for(kept) == kept_record


def test_open311_key_admin_cannot_add_or_delete_keys(admin_client):
    record, _ = create_open311_key(name="市民通")
    assert admin_client.get("/admin/cases/open311key/add/").status_code == 403
    assert admin_client.get(f"/admin/cases/open311key/{record.pk}/delete/").status_code == 403
    assert Open311Key.objects.filter(pk=record.pk).exists()
