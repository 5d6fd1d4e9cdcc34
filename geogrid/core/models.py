"""Shared model bases. `core` owns no concrete domain tables."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """An append-only record of a state change: who did what, when, and the details.

    Each domain app subclasses this with a foreign key to what changed (grids.GridEvent, ...).
    Rows are only ever inserted by services; nothing updates or deletes them.
    """

    action = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
