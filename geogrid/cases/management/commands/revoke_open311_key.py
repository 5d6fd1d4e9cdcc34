"""manage.py revoke_open311_key NAME|ID"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from geogrid.cases.models import Open311Key
from geogrid.cases.open311_keys import revoke_open311_key


class Command(BaseCommand):
    help = (
        "Revoke an Open311 api_key: the client system named NAME (or the key with id ID) "
        "can no longer post. The record stays, so its cases keep naming their source."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("key", help="the client system's name, or the key's id")

    def handle(self, *args, **options) -> None:
        given = options["key"].strip()
        key = Open311Key.objects.filter(name=given).first()
        if key is None and given.isascii() and given.isdigit():
            key = Open311Key.objects.filter(pk=int(given)).first()
        if key is None:
            names = ", ".join(Open311Key.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(
                f"No Open311 key is named {given!r} or has that id. Keys: {names or 'none'}."
            )
        if revoke_open311_key(key=key, actor=None):
            self.stdout.write(f"Revoked the Open311 api_key of {key.name} (prefix {key.prefix}).")
        else:
            self.stdout.write(
                f"The Open311 api_key of {key.name} was revoked already "
                f"({key.revoked_at:%Y-%m-%d %H:%M})."
            )
