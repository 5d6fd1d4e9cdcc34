"""The errors of the patrol use cases: the views turn them into 400s (and 404s for
`PatrolNotFound`), with the field at fault."""

from __future__ import annotations


class PatrolError(ValueError):
    """Input a patrol cannot take: `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TrackFileError(PatrolError):
    """A track file that cannot be read (not GPX or GeoJSON, no times, broken)."""


class PatrolNotFound(PatrolError):
    """No such patrol, or one of another inspector: the same answer for both (a 404), so a
    patrol's existence is not disclosed (docs/architecture.md §9.3)."""
