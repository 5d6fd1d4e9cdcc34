"""One import run: the file's rows as arrays, filled stage by stage, and the problems found.

Every stage (reading here; coordinates.py, checks.py, codes.py, writing.py) reads and fills the
arrays of one `ImportRun`, one element per row of the file. A stage rejects rows with `reject`,
which marks them in `bad` and words one message per row; Python loops run only over rejected
rows, classes, departments and groups, never over every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geogrid.accounts.actors import Actor
from geogrid.components.importing.reading import (
    check_options,
    column_text,
    find_column,
    read_table,
)
from geogrid.components.importing.report import ImportReport, RowReport
from geogrid.components.schemes import active_scheme
from geogrid.core.codes import COMPONENT_SCHEMES


class ImportRun:
    """One run: arrays over the file's rows (in file order), filled stage by stage."""

    # Reading (`read`)
    frame: pd.DataFrame  # the rows as read (a GeoDataFrame unless the file is a CSV)
    attributes: pd.DataFrame  # their attribute columns
    is_csv: bool
    n: int  # number of rows
    bad: np.ndarray  # bool: rejected by some stage
    # Coordinates (coordinates.py): storage lon/lat of points, else a shape in the storage CRS
    x: np.ndarray
    y: np.ndarray
    shapes: np.ndarray  # object: shapely geometries, None for points and unusable rows
    types: np.ndarray  # shapely type id, 0 for points, -1 without a usable geometry
    kind_bits: np.ndarray  # coordinates.KIND_BITS of the geometry, 0 without one
    geom_ok: np.ndarray  # bool: a usable, valid geometry
    # Classes (checks.py): the scheme's classes, and each row's position among them
    class_rows: list[dict[str, Any]]
    class_ids: np.ndarray
    class_codes: np.ndarray
    class_nums: np.ndarray
    class_bits: np.ndarray
    class_default: np.ndarray  # default department id per class, -1 for none
    class_text: np.ndarray  # the class code each row gave (or took from its code)
    class_idx: np.ndarray  # position in class_rows, -1 for an unknown class
    # Attributes (checks.py)
    names: np.ndarray
    texts: dict[str, np.ndarray]
    status: np.ndarray  # 1-based position in fields.STATUS_ORDER
    source: np.ndarray  # 1-based position in fields.DATA_SOURCE_ORDER
    initial_date: np.ndarray
    change_date: np.ndarray
    departments: dict[str, np.ndarray]  # department ids by role, -1 for none
    # Unit grids (checks.py)
    grid_pos: np.ndarray  # position in the run's GridIndex, -1 outside every unit grid
    grid_ids: np.ndarray
    districts: np.ndarray  # district code of the grid, as text
    district_nums: np.ndarray  # the same as a number
    # Codes (codes.py)
    given_codes: np.ndarray  # the code a row gave, '' for none
    code_numbers: np.ndarray  # that code as int64, 0 for none

    def __init__(
        self,
        *,
        path: Path,
        actor: Actor | None,
        class_field: str | None,
        class_code: str | None,
        crs: str | int | None,
        code_field: str | None,
        name_field: str | None,
        lon_field: str | None,
        lat_field: str | None,
    ) -> None:
        self.path, self.actor, self.declared_crs = path, actor, crs
        self.options = {
            "class_field": class_field,
            "code_field": code_field,
            "name_field": name_field,
            "lon_field": lon_field,
            "lat_field": lat_field,
        }
        self.class_code = class_code
        self.scheme = active_scheme()
        self.spec = COMPONENT_SCHEMES[self.scheme]
        self.report = ImportReport(path=str(path), scheme=self.scheme)
        self.problems: dict[int, list[tuple[str, str]]] = {}
        self._texts: dict[tuple[str, int], np.ndarray] = {}  # column text, converted once

    # Problems ------------------------------------------------------------------------------
    def reject(self, rows: np.ndarray, reason: str, message: str | Callable[[int], str]) -> None:
        """Mark rows (indexes or a mask) rejected; `message` is a text or words one row's."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        self.bad[rows] = True
        problems = self.problems
        for index in rows.tolist():  # rejected rows only
            text = message(index) if callable(message) else message
            if index in problems:
                problems[index].append((reason, text))
            else:
                problems[index] = [(reason, text)]

    # Stage 1: read ---------------------------------------------------------------------------
    def read(self) -> None:
        self.frame, self.attributes, self.is_csv = read_table(self.path)
        self.n = len(self.frame)
        self.report.total = self.n
        self.bad = np.zeros(self.n, dtype=bool)
        check_options(self.path, list(self.attributes.columns), self.options, self.class_code)

    def column(
        self, option: str | None, names: Iterable[str], *, pad: int = 0
    ) -> np.ndarray | None:
        """The text of the field named by `option`, or else of the fields called `names`: where
        a file has several (GLBJMC and name), the first non-empty value per row."""
        if option and self.options[option]:
            found = [find_column(self.attributes.columns, [self.options[option]])]
        else:
            found = [
                c
                for c in dict.fromkeys(
                    find_column(self.attributes.columns, [name]) for name in names
                )
                if c is not None
            ]
        if not found:
            return None
        text = self._text_of(found[0], pad)
        for name in found[1:]:
            empty = text == ""
            if empty.any():
                text = np.where(empty, self._text_of(name, pad), text)
        return text

    def _text_of(self, name: str, pad: int) -> np.ndarray:
        key = (name, pad)
        if key not in self._texts:
            self._texts[key] = column_text(self.attributes[name], pad=pad)
        return self._texts[key]

    def cell(self, column: str, index: int) -> str:
        """A cell as the file gave it (for a message), cut to 40 characters."""
        return str(self.attributes[column].iloc[index])[:40]

    # Report ----------------------------------------------------------------------------------
    def finish_report(self) -> None:
        """The rejected rows into the report, one RowReport each; the accepted ones as arrays."""
        report = self.report
        codes, names, classes = (
            self.given_codes.tolist(),
            self.names.tolist(),
            self.class_text.tolist(),
        )
        for index in sorted(self.problems):  # rejected rows only
            problems = self.problems[index]
            reasons = [r for r, _ in problems]
            report.rejected.append(
                RowReport(
                    row=index + 1,
                    code=codes[index] or None,
                    name=names[index] or None,
                    class_code=classes[index] or None,
                    reasons=reasons if len(reasons) == 1 else list(dict.fromkeys(reasons)),
                    messages=[m for _, m in problems],
                )
            )
        accepted = np.flatnonzero(~self.bad)
        report.accepted_rows = accepted + 1
        report.codes = self.given_codes[accepted]
        per_class = pd.Series(self.class_idx[accepted]).value_counts()
        report.accepted_by_class = {
            f"{self.class_rows[i]['code']} {self.class_rows[i]['name']}": int(c)
            for i, c in per_class.items()
        }
