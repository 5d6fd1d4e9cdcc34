"""Loading reference data (taxonomies, departments) from shipped tables, idempotently.

A loader turns its table into rows and hands them here; what happens to each row is the same
for every table: a new one is created, an existing one is overwritten only when the caller asks
(`--update`), since a deployment may have edited it, and otherwise counted as kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models

ModelT = TypeVar("ModelT", bound=models.Model)

# One row of a table: the stored row it matches (None when there is none), the fields that
# identify a new row, and the fields loaded (and overwritten on update).
LoadRow = tuple[ModelT | None, dict[str, Any], dict[str, Any]]


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def summary(self, things: str = "") -> str:
        """The counts as the load commands print them: '3 classes created, 0 updated, 5 kept.'"""
        created = f"{self.created} {things} created" if things else f"{self.created} created"
        return f"{created}, {self.updated} updated, {self.unchanged} kept."


def load_rows(
    model: type[ModelT],
    rows: Iterable[LoadRow[ModelT]],
    *,
    update: bool,
    keep: Callable[[ModelT, dict[str, Any]], None] | None = None,
) -> LoadResult:
    """Create each row that is new; overwrite an existing one if `update`, else leave it (after
    `keep`, which may fill what the deployment left empty) and count it unchanged.

    `rows` is consumed one at a time, so a lookup made while producing a row sees the rows
    created before it.
    """
    result = LoadResult()
    for current, identity, values in rows:
        if current is None:
            model._default_manager.create(**identity, **values)
            result.created += 1
        elif update:
            model._default_manager.filter(pk=current.pk).update(**values)
            result.updated += 1
        else:
            if keep is not None:
                keep(current, values)
            result.unchanged += 1
    return result
