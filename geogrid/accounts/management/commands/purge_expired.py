"""manage.py purge_expired — run it daily (deploy/geogrid-purge-expired.timer)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from geogrid.accounts import throttle
from geogrid.accounts.services import purge_expired_tokens


class Command(BaseCommand):
    help = (
        "Delete what has expired and no longer counts: log-in and Open311 throttle counters "
        "whose window has ended, and API tokens past their expiry (they are refused "
        "already; knox deletes one only when someone presents it)."
    )

    def handle(self, *args, **options) -> None:
        counters = throttle.purge_expired()
        tokens = purge_expired_tokens()
        self.stdout.write(
            f"Deleted {counters} expired throttle counter(s) and {tokens} expired API token(s)."
        )
