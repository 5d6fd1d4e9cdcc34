"""manage.py flag_overdue — run it every few minutes (cron or a systemd timer)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from geogrid.cases.transitions import flag_overdue


class Command(BaseCommand):
    help = (
        "Flag the cases whose handling deadline has passed (status 处置中, 延期申请中 or "
        "返工中); each newly overdue case gets an 'overdue' event."
    )

    def handle(self, *args, **options) -> None:
        count = flag_overdue()
        self.stdout.write(
            f"{count} case(s) became overdue." if count else "No case became overdue."
        )
