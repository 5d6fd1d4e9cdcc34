"""manage.py purge_expired: the daily clean-up of expired throttle counters and API tokens
(deploy/geogrid-purge-expired.timer runs it)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken

from geogrid.accounts.models import AttemptCounter, Role
from tests import factories


def test_purge_expired_deletes_expired_counters_and_tokens_and_keeps_live_ones(db):
    now = timezone.now()
    AttemptCounter.objects.create(key="a" * 64, count=3, expires_at=now - timedelta(minutes=1))
    AttemptCounter.objects.create(key="b" * 64, count=1, expires_at=now + timedelta(minutes=10))
    user = factories.user("planner-a", Role.PLANNER)
    expired, _ = AuthToken.objects.create(user=user, expiry=timedelta(hours=1))
    AuthToken.objects.filter(pk=expired.pk).update(expiry=now - timedelta(seconds=1))
    live, _ = AuthToken.objects.create(user=user, expiry=timedelta(hours=1))

    out = StringIO()
    call_command("purge_expired", stdout=out)

    assert list(AttemptCounter.objects.values_list("key", flat=True)) == ["b" * 64]
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert "1 expired throttle counter(s) and 1 expired API token(s)" in out.getvalue()
