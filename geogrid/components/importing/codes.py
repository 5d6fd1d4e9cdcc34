"""Component codes (docs/domain.md §3.1, §3.2): the codes a file gives, checked, and serials
for the rows that give none.

Codes are handled as int64 (17 digits fit; a district code never starts with 0) and checked with
array and set operations plus one query for the codes already stored. Serials come from one
`allocate_serials(count=n)` per (district, class), inside the writing transaction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geogrid.components.importing.reading import find_column
from geogrid.components.importing.run import ImportRun
from geogrid.components.models import ComponentSerial
from geogrid.components.services import allocate_serials, reserve_existing_serials
from geogrid.core.codes import CodeError, district_names, parse_component_code
from geogrid.core.db import raw_cursor


def check_codes(run: ImportRun) -> None:
    """Given codes: well formed, of the row's class and grid district, once in the file,
    not yet stored; rows without one get a serial on commit (checked: serials left)."""
    n = run.n
    length, minor = run.spec["length"], run.spec["minor"]
    column = (
        find_column(run.attributes.columns, [run.options["code_field"]])
        if run.options["code_field"]
        else None
    )
    given = run.column("code_field", ()) if column else None
    run.given_codes = given = given if given is not None else np.full(n, "", dtype=object)
    has = given != ""
    lossy = np.zeros(n, dtype=bool)
    if column and run.attributes[column].dtype.kind == "f":
        # Codes stored as floating-point numbers lose digits beyond 2**53.
        numbers = pd.to_numeric(pd.Series(given).where(has, "0"), errors="coerce")
        lossy = has & (numbers.to_numpy(float) >= 2**53)
        run.reject(
            lossy,
            "bad_code",
            lambda i: (
                f"Code {given[i]} was stored as a floating-point number and "
                "may have lost digits; store codes as text."
            ),
        )
    # Only the rows that give a code are looked at (most files give none).
    digits, numbers = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    coded = np.flatnonzero(has)
    digits[coded], numbers[coded] = _digits(given[coded], length)
    run.code_numbers = numbers
    district = numbers // 10 ** (length - 6)
    class_part = (numbers // 10**6) % 10 ** (2 + minor)
    known_districts = np.fromiter(map(int, district_names()), dtype=np.int64)
    well_formed = (
        has & ~lossy & digits & (numbers % 10**6 != 0) & np.isin(district, known_districts)
    )

    def malformed(i: int) -> str:
        try:
            parse_component_code(given[i], run.scheme)
        except CodeError as exc:
            return str(exc)
        return f"Code {given[i]} is malformed."

    run.reject(has & ~lossy & ~well_formed, "bad_code", malformed)
    checkable = np.flatnonzero(well_formed & (run.class_idx >= 0))
    other_class = checkable[class_part[checkable] != run.class_nums[run.class_idx[checkable]]]

    def class_message(i: int) -> str:
        klass = run.class_rows[run.class_idx[i]]
        return (
            f"Code {given[i]} is of class {class_part[i]:0{2 + minor}d}, not "
            f"{klass['code']} ({klass['name']})."
        )

    run.reject(other_class, "bad_code", class_message)
    located = np.flatnonzero(well_formed & (run.grid_pos >= 0))
    elsewhere = located[district[located] != run.district_nums[located]]
    run.reject(
        elsewhere,
        "bad_code",
        lambda i: (
            f"Code {given[i]} belongs to district {district[i]:06d}, but the "
            f"component lies in district {run.districts[i]}."
        ),
    )
    # Repeated codes among the rows still accepted: the first row keeps the code.
    candidates = np.flatnonzero(has & ~run.bad)
    repeated = pd.Series(numbers[candidates]).duplicated(keep=False).to_numpy(bool)
    if repeated.any():
        rows = candidates[repeated]
        first = pd.Series(rows).groupby(numbers[rows]).transform("min").to_numpy(np.int64)
        first_of = dict(zip(rows.tolist(), first.tolist(), strict=True))
        run.reject(
            rows[rows != first],
            "duplicate_code",
            lambda i: f"Code {given[i]} also belongs to row {first_of[i] + 1}.",
        )
    candidates = np.flatnonzero(has & ~run.bad)
    taken = _existing_codes(numbers[candidates], length)
    run.reject(
        candidates[np.isin(numbers[candidates], taken)],
        "duplicate_code",
        lambda i: f"Code {given[i]} is already used (component codes are never reused).",
    )
    _check_serials(run)


def _prefixes(run: ImportRun, rows: np.ndarray) -> np.ndarray:
    """District + class of these rows as one number (a code without its serial): from the
    grid's district and the row's class."""
    return (
        run.district_nums[rows] * 10 ** (2 + run.spec["minor"])
        + run.class_nums[run.class_idx[rows]]
    )


def _check_serials(run: ImportRun) -> None:
    """Rows needing a serial in a (district, class) whose 999,999 are used up: rejected."""
    allocate = np.flatnonzero(~run.bad & (run.given_codes == ""))
    if len(allocate) == 0:
        return
    prefixes = _prefixes(run, allocate)
    wanted = pd.Series(prefixes).value_counts()
    last = {
        int(d) * 10 ** (2 + run.spec["minor"]) + int(c): serial
        for d, c, serial in ComponentSerial.objects.filter(scheme=run.scheme).values_list(
            "district_code", "class_code", "last_serial"
        )
    }
    highest = _explicit_highest(run)
    full = [
        prefix
        for prefix, count in wanted.items()
        if max(last.get(prefix, 0), highest.get(prefix, 0)) + count > 999_999
    ]
    if full:
        run.reject(
            allocate[np.isin(prefixes, full)],
            "bad_code",
            lambda i: (
                f"District {run.districts[i]} has no serial numbers left "
                f"for class {run.class_text[i]} (999,999 used)."
            ),
        )


def _explicit_highest(run: ImportRun) -> dict[int, int]:
    """Highest explicit serial per code prefix (district + class) among accepted rows."""
    rows = np.flatnonzero(~run.bad & (run.given_codes != ""))
    if len(rows) == 0:
        return {}
    numbers = run.code_numbers[rows]
    return pd.Series(numbers % 10**6).groupby(numbers // 10**6).max().to_dict()


def assign_codes(run: ImportRun, rows: np.ndarray) -> np.ndarray:
    """Codes of these rows (int64, in their order): the explicit ones (their serials
    reserved first, so allocation cannot hand them out), then one allocation per (district,
    class) for the rest, numbered in the order of the rows."""
    width = 2 + run.spec["minor"]
    for prefix, highest in _explicit_highest(run).items():
        district, class_code = divmod(int(prefix), 10**width)
        reserve_existing_serials(
            district_code=f"{district:06d}",
            scheme=run.scheme,
            class_code=f"{class_code:0{width}d}",
            highest=int(highest),
        )
    codes = run.code_numbers[rows].copy()
    rest = np.flatnonzero(run.given_codes[rows] == "")
    if len(rest):
        prefixes = _prefixes(run, rows[rest])
        group, labels = pd.factorize(prefixes)
        rank = pd.Series(group).groupby(group).cumcount().to_numpy(np.int64)
        sizes = np.bincount(group, minlength=len(labels))
        first = np.zeros(len(labels), dtype=np.int64)
        for position, prefix in enumerate(labels.tolist()):  # one per (district, class)
            district, class_code = divmod(prefix, 10**width)
            first[position] = allocate_serials(
                district_code=f"{district:06d}",
                scheme=run.scheme,
                class_code=f"{class_code:0{width}d}",
                count=int(sizes[position]),
            )
        codes[rest] = prefixes * 10**6 + first[group] + rank
    return codes


def _existing_codes(numbers: np.ndarray, length: int) -> np.ndarray:
    """Which of these codes (as numbers) are already stored: one query, the codes sent as one
    bigint array."""
    if len(numbers) == 0:
        return np.zeros(0, dtype=np.int64)
    with raw_cursor() as cursor:
        cursor.execute(
            "SELECT c.code::bigint FROM components_component c "
            "JOIN unnest(%s::bigint[]) AS t(n) ON c.code = lpad(t.n::text, %s, '0')",
            (numbers.tolist(), length),
        )
        return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)


def _digits(texts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of texts made of exactly `length` ASCII digits, their values as int64; 0 where
    not), computed on the characters as a numpy array."""
    if len(texts) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    # One character more than allowed: a longer text keeps a non-zero character there.
    chars = np.asarray(texts, dtype=f"U{length + 1}").view(np.uint32).reshape(-1, length + 1)
    digits = chars[:, :length]
    ok = (chars[:, length] == 0) & ((digits >= 48) & (digits <= 57)).all(axis=1)
    powers = 10 ** np.arange(length - 1, -1, -1, dtype=np.int64)
    values = (np.where(ok[:, None], digits, 48).astype(np.int64) - 48) @ powers
    return ok, values
