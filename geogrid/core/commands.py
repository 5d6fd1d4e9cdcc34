"""What the import commands (import_grids, import_components) share around their service call:
the progress bar, turning a refused file into a CommandError, and printing the report. The
texts stay each command's own (they name rows or features), so they are passed in."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from geogrid.core.vectorfiles import ImportFileError

T = TypeVar("T")


def progress_bar(*, desc: str, unit: str, verbosity: int) -> Callable[[Iterable[T]], Iterable[T]]:
    """The `progress` argument of an import: a bar on stderr, so stdout keeps only the report,
    and none at --verbosity 0."""

    def progress(steps: Iterable[T]) -> Iterable[T]:
        bar: Iterable[T] = tqdm(
            steps, desc=desc, unit=unit, file=sys.stderr, disable=verbosity == 0
        )
        return bar

    return progress


@contextmanager
def import_refusals() -> Iterator[None]:
    """A file the import cannot read, or an argument it refuses, ends the command with the
    message alone rather than a traceback."""
    try:
        yield
    except (ImportFileError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def write_import_report(
    command: BaseCommand,
    *,
    text: str,
    report: dict[str, Any],
    report_json: str | None,
    indent: int,
    committed_rejects: str | None,
) -> None:
    """Print the report, write it as JSON to `report_json` if given, and warn on stderr with
    `committed_rejects` (None when nothing committed was rejected)."""
    command.stdout.write(text)
    if report_json:
        with open(report_json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, ensure_ascii=False, indent=indent)
    if committed_rejects:
        command.stderr.write(command.style.WARNING(committed_rejects))
