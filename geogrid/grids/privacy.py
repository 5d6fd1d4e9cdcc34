"""What the public may see of grids (README "Privacy model"; the rule is geogrid/core/privacy.py).

A grid's boundary, code, names, type, figures and its officer's name are public; the officer's
phone is for colleagues. Its history is public without the people: no author of a boundary or
an event, and no private attribute in the changes an event records.
"""

from __future__ import annotations

from typing import Any

from geogrid.core.privacy import Audience, FieldPolicy

GRID = FieldPolicy("grid", staff=frozenset({"officer_phone"}))
# Boundary versions and audit events: who made them is staff business.
GRID_BOUNDARY = FieldPolicy("grid boundary", staff=frozenset({"changed_by"}))
GRID_EVENT = FieldPolicy("grid event", staff=frozenset({"actor"}))


def event_details(details: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """An event's details as the audience may see them: for the public, the recorded changes
    ('updated' events: {field: [old, new]}) and inherited values without the grid's staff-only
    attributes, and nothing naming a person (an import's actor is in `actor`, not here)."""
    if not audience.is_public or not isinstance(details, dict):
        return details
    hidden = GRID.hidden_from(audience)
    cleaned = {key: value for key, value in details.items() if key not in hidden}
    for key in ("changes", "attributes", "inherited"):
        if isinstance(cleaned.get(key), dict):
            cleaned[key] = {
                name: value for name, value in cleaned[key].items() if name not in hidden
            }
    for key in ("impact", "applied"):
        if isinstance(cleaned.get(key), dict):
            cleaned[key] = {
                name: value for name, value in cleaned[key].items() if not name.endswith("_ids")
            }
    return cleaned
