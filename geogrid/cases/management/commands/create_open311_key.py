"""manage.py create_open311_key NAME"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from geogrid.cases.open311_keys import create_open311_key


class Command(BaseCommand):
    help = (
        "Create an Open311 GeoReport v2 API key (api_key) for a client system and print it. "
        "Only its hash is stored: the key is shown this once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the client system, e.g. 12345热线 (must be unique)")

    def handle(self, *args, **options) -> None:
        try:
            record, key = create_open311_key(name=options["name"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except IntegrityError as exc:
            # Another process created the same name between the check and the insert.
            raise CommandError(
                f"A key named {options['name']!r} exists already; choose another name."
            ) from exc
        self.stdout.write(f"Open311 api_key for {record.name} (prefix {record.prefix}):")
        self.stdout.write(key)
        self.stdout.write(
            "It is shown only now: only its hash is stored. Give it to the client "
            "system and keep no other copy."
        )
