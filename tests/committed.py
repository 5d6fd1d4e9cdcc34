"""For module-scoped fixtures that commit rows outside a test's transaction (a demo city loaded
once for a whole module) and truncate them afterwards."""

from __future__ import annotations

from django.db import connection


def assert_test_database() -> None:
    """Refuse to go on unless Django's connection is the test database: for the module-scoped
    fixtures that commit rows (and truncate them afterwards) outside a test's transaction."""
    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        raise RuntimeError(
            f"This fixture would write to the database {name!r}, which is not a test database. "
            "Mark the module with pytest.mark.django_db so that pytest-django creates one."
        )
