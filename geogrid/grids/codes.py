"""Explain a grid code: its parts, with the names of the grids stored for each prefix."""

from __future__ import annotations

from django.conf import settings

from geogrid.core.codes import split_grid_code, unit_code_scheme
from geogrid.grids.models import Grid


def explain_grid_code(code: str) -> dict:
    """Decode a grid code (raises CodeError). Known grids add their names and status."""
    parts = split_grid_code(code)
    stored = {
        g.code: g
        for g in Grid.objects.filter(code__in=[p.code for p in parts]).select_related("level")
    }
    explained = []
    for part in parts:
        grid = stored.get(part.code)
        entry = part.as_dict()
        if grid is not None:
            entry["name"] = grid.name
            entry["active"] = grid.is_active
        explained.append(entry)
    unit_length = settings.GEOGRID_UNIT_GRID_CODE_LENGTH
    target = stored.get(code)
    return {
        "code": code,
        "kind": "grid",
        "level": parts[-1].level,
        "scheme": unit_code_scheme(unit_length)
        if parts[-1].level == "unit"
        else "GB/T 2260 / statistical division code",
        "parts": explained,
        "exists": target is not None,
        "active": target.is_active if target else None,
        "name": target.name if target else parts[-1].name,
    }
