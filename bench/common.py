"""What every benchmark shares: the result record, timing helpers and the output table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"


@dataclass
class Result:
    """One benchmark line: a measured figure, the raw baseline measured in the same run, their
    ratio (measured / baseline) and the target verdict. `higher_is_better` says which way the
    figures point (throughputs) so the table can print the ratio the right way round."""

    name: str
    measured: float | None
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""
    passed: bool | None = None  # None: no target, or skipped
    higher_is_better: bool = False
    skipped: str = ""  # why the line was skipped, if it was
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.measured is None or not self.baseline:
            return None
        return self.measured / self.baseline


def timed_ns(function: Callable[[], Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    value = function()
    return time.perf_counter_ns() - start, value


def median_ns(function: Callable[[], Any], repeat: int) -> tuple[int, list[int], Any]:
    """Run `function` `repeat` times; (median ns, all timings, last return value). The VM is
    shared (its speed moves ±30 % between runs: bench/README.md), so one run is never the
    figure."""
    timings, value = [], None
    for _ in range(repeat):
        elapsed, value = timed_ns(function)
        timings.append(elapsed)
    return int(statistics.median(timings)), timings, value


def percentile_us(samples_ns: list[int], q: float) -> float:
    ordered = sorted(samples_ns)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] / 1_000


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "points/s":
        return f"{value / 1_000:,.0f}k points/s"
    if unit == "µs":
        return f"{value:,.0f} µs"
    if unit == "s":
        return f"{value:,.3f} s"
    return f"{value:,.2f} {unit}"


def table(results: list[Result]) -> str:
    headers = ("benchmark", "measured", "baseline (same run)", "ratio", "target", "result")
    rows = []
    for r in results:
        if r.skipped:
            rows.append((r.name, "skipped", r.skipped, "", r.target, "SKIP"))
            continue
        ratio = r.ratio
        verdict = {True: "PASS", False: "FAIL", None: ""}[r.passed]
        rows.append(
            (
                r.name,
                _fmt(r.measured, r.unit),
                f"{r.baseline_name}: {_fmt(r.baseline, r.unit)}" if r.baseline_name else "",
                f"{ratio:.2f}×" if ratio is not None else "",
                r.target,
                verdict,
            )
        )
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    import numpy
    import shapely
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), postgis_lib_version()")
        postgres, postgis = cursor.fetchone()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": numpy.__version__,
        "shapely": shapely.__version__,
        "geos": ".".join(map(str, shapely.geos_version)),
        "postgres": postgres.split(",")[0],
        "postgis": postgis,
    }


def write_json(results: list[Result], started: datetime, args: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / "results.json"
    payload = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "arguments": args,
        "machine": machine(),
        "results": [dict(asdict(r), ratio=r.ratio) for r in results],
    }
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return path


@contextmanager
def deleting_benchmark_audit_rows(cursor: Any, *tables: str) -> Iterator[None]:
    """Let the caller delete the audit rows of data the benchmarks made themselves.

    Audit tables refuse UPDATE and DELETE (geogrid/core/audit.py). The benchmarks write cases
    and components into their own database and remove them again so runs stay comparable; only
    for that, the append-only trigger of each table is disabled inside the caller's transaction
    (ALTER TABLE is transactional: if anything fails, the trigger is back as it was) and
    enabled again before it commits."""
    for table in tables:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    yield
    for table in tables:
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
