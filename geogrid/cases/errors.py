"""The errors of the case use cases, in a module of their own so that intake, the workflow and
the views that turn them into 400s and 403s can all import them without a cycle."""

from __future__ import annotations


class ReportError(ValueError):
    """A report that cannot be taken in: `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TransitionError(ValueError):
    """A move the workflow does not allow, or one missing what it needs."""


class TransitionForbidden(PermissionError):
    """The actor's role or scope does not allow this move on this case."""
