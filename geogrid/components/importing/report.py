"""What an import found and did: the report of a run (one RowReport per rejected row, the
accepted rows as arrays) and its text for the command line."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from geogrid.core.codes import COMPONENT_SCHEMES

REASONS = {
    "bad_coordinates": "bad coordinates",
    "invalid_geometry": "invalid geometry",
    "wrong_geometry": "geometry type wrong for the class",
    "unknown_class": "unknown class",
    "outside_grids": "outside every unit grid",
    "bad_code": "malformed code, or code of another class or district",
    "duplicate_code": "duplicate code",
    "unknown_department": "unknown department code",
    "missing_department": "no competent department",
    "bad_value": "bad attribute value",
}


@dataclass
class RowReport:
    """A rejected row: 1-based row number in the file, what it said, and every reason."""

    row: int
    code: str | None
    name: str | None
    class_code: str | None
    status: str = "rejected"
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import found (and did). Rejected rows are listed one by one; accepted rows are
    kept as arrays (`accepted_rows`, and after a commit `codes`, both in file order)."""

    path: str
    scheme: str
    source_crs: str = ""
    transformed: bool = False
    total: int = 0
    rejected: list[RowReport] = field(default_factory=list)
    accepted_by_class: dict[str, int] = field(default_factory=dict)
    committed: bool = False
    created: int = 0
    notes: list[str] = field(default_factory=list)
    # Seconds per stage ("Reading", …, "Writing"), for the operator and the benchmark.
    timings: dict[str, float] = field(default_factory=dict)
    accepted_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, object), repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.total,
            "accepted": self.total - len(self.rejected),
            "rejected": len(self.rejected),
        }

    @property
    def reason_counts(self) -> dict[str, int]:
        counter = Counter(reason for row in self.rejected for reason in row.reasons)
        return {reason: counter[reason] for reason in REASONS if counter[reason]}

    def row(self, number: int) -> RowReport | None:
        """The report of rejected row `number` (1-based), None if it was accepted."""
        return next((r for r in self.rejected if r.row == number), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the per-row arrays of accepted rows."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("accepted_rows", "codes", "rejected")
        }
        data["rejected"] = [asdict(row) for row in self.rejected]
        data["counts"] = self.counts
        data["reason_counts"] = self.reason_counts
        return data


def format_report(report: ImportReport, *, limit: int | None = None) -> str:
    """The report as text: header, notes, the problem rows (the first `limit`), counts."""
    lines = [
        f"{report.path}: {report.total:,} rows, {COMPONENT_SCHEMES[report.scheme]['label']}"
        f", source CRS {report.source_crs or '(none)'}"
    ]
    if report.transformed:
        lines.append(f"  note: coordinates transformed from {report.source_crs} to EPSG:4490.")
    lines += [f"  note: {note}" for note in report.notes]
    shown = report.rejected if limit is None else report.rejected[:limit]
    for row in shown:
        label = row.code or row.class_code or ""
        lines.append(
            f"  #{row.row:<7} REJECTED {label}"
            + (f" {row.name}" if row.name else "")
            + " — "
            + " ".join(row.messages)
        )
    if len(shown) < len(report.rejected):
        lines.append(
            f"  … and {len(report.rejected) - len(shown):,} more rejected rows "
            "(--report-json lists them all)."
        )
    if report.reason_counts:
        lines.append("Rejected rows by reason:")
        lines += [
            f"  {REASONS[reason]}: {count:,}" for reason, count in report.reason_counts.items()
        ]
    if report.accepted_by_class:
        lines.append("Accepted by class:")
        lines += [f"  {label}: {count:,}" for label, count in report.accepted_by_class.items()]
    counts = report.counts
    lines.append(f"Accepted {counts['accepted']:,}, rejected {counts['rejected']:,}.")
    if report.timings:
        lines.append(
            "Time: "
            + ", ".join(
                f"{label.lower()} {seconds:.1f} s" for label, seconds in report.timings.items()
            )
            + f" ({sum(report.timings.values()):.1f} s)."
        )
    if report.committed:
        lines.append(f"Committed: {report.created:,} components created in one transaction.")
    else:
        lines.append(
            "Dry run: nothing was written. Add --commit to create the accepted components."
        )
    return "\n".join(lines)
