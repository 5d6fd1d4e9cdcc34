"""Shared model bases. `core` owns no concrete domain tables."""

from django.conf import settings
from django.db import models

# How an audit event points at what changed: no database constraint and nothing done on delete,
# so that deleting the object (rare: grids are retired and components voided instead) leaves
# its history in place, pointing at the id it had.
AUDITED_OBJECT = {"on_delete": models.DO_NOTHING, "db_constraint": False}


class AuditEvent(models.Model):
    """An append-only record of a state change: who did what, when, and the details.

    Each domain app subclasses this with a foreign key to what changed (grids.GridEvent, ...).
    Rows are only ever inserted by services; the database refuses updates and deletes
    (geogrid/core/audit.py, a trigger added by each subclass's migration). So nothing may be
    set to NULL either: a user who acted cannot be deleted (PROTECT: deactivate the account
    instead), and the foreign key to what changed is declared with AUDITED_OBJECT, which
    keeps the event when its object is deleted.
    """

    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
