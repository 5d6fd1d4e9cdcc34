"""PostgreSQL's binary COPY format, encoded with numpy.

A bulk writer that already holds its rows as arrays (the component import, docs/architecture.md
§4.3) can hand them to `COPY … FROM STDIN (FORMAT binary)` without a Python loop per row or per
value: every column is turned into bytes with array operations and the rows are laid out in one
buffer. The format (PostgreSQL documentation, "COPY", "Binary Format"):

- a header: the 11-byte signature `PGCOPY\\n\\377\\r\\n\\0`, a 32-bit flags field and a 32-bit
  header-extension length (both 0 here);
- per row: a 16-bit field count, then per field a 32-bit length (-1 for NULL, no bytes follow)
  and the value in the type's binary send format, every integer in network byte order;
- a trailer: the 16-bit field count -1.

Nothing here knows a table: the caller names the columns in its COPY statement and passes their
values in the same order. What it costs and saves is measured in bench/README.md
(`import_components`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from geogrid.core.srid import STORAGE_SRID

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length
COPY_TRAILER = b"\xff\xff"

# One column of a COPY: (kind, values, NULL mask or None). Kinds: bool, int2, int4, int8, float8,
# date (datetime64), char (an (n, width) uint8 matrix: fixed-width text, or bytea of one length),
# text, bytea (None is NULL in both, '' an empty text). A timestamptz goes as int8
# (`timestamptz`).
Column = tuple[str, np.ndarray, np.ndarray | None]

# PostgreSQL counts dates in days and timestamps in microseconds from 2000-01-01.
POSTGRES_EPOCH_DAY = np.datetime64("2000-01-01", "D")
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Fixed-width kinds: their values in network byte order (bool: one byte, 0 or 1).
_FIXED = {
    "bool": "u1",
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float8": ">f8",
    "date": ">i4",
}

_POINT_EWKB = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def timestamptz(moment: datetime) -> int:
    """A timestamptz in PostgreSQL's binary form: microseconds since 2000-01-01 UTC (send it as
    an int8 column)."""
    # Integer division of the timedelta, not total_seconds() * 1e6: the float product truncates
    # to one microsecond less for some instants (2017-02-17 22:16:31.246167, for one).
    return (moment - _POSTGRES_EPOCH) // timedelta(microseconds=1)


def variable_bytes(kind: str, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lengths with -1 for NULL, concatenated bytes) of a text or bytea column; None is NULL,
    '' an empty text. Text is encoded once per distinct value."""
    if kind == "bytea":
        present = np.array([v is not None for v in data], dtype=bool)
        blobs = [bytes(v) for v in data[present]]
        lengths = np.full(len(data), -1, dtype=np.int64)
        lengths[present] = [len(b) for b in blobs]
        return lengths, np.frombuffer(b"".join(blobs), dtype=np.uint8)
    labels, uniques = pd.factorize(pd.Series(data, dtype=object))  # None → label -1
    encoded = [str(u).encode("utf-8") for u in uniques]
    unique_len = np.array([len(e) for e in encoded] + [-1], dtype=np.int64)
    unique_start = np.concatenate([[0], np.cumsum(unique_len[:-1])])
    pool = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    lengths = unique_len[labels]  # label -1 picks the trailing -1 (NULL)
    sizes = np.maximum(lengths, 0)
    if sizes.sum() == 0:
        return lengths, np.zeros(0, dtype=np.uint8)
    starts = unique_start[np.maximum(labels, 0)]
    out_start = np.concatenate([[0], np.cumsum(sizes)])[:-1]
    source = np.repeat(starts - out_start, sizes) + np.arange(sizes.sum())
    return lengths, pool[source]


def point_ewkb(x: np.ndarray, y: np.ndarray, srid: int = STORAGE_SRID) -> np.ndarray:
    """EWKB of 2D points in `srid` as an (n, 25) byte matrix, the bytes
    `shapely.to_wkb(..., include_srid=True)` writes (little-endian, type 1 with the SRID flag),
    without making a geometry object per point first. A "char" column for `binary_copy_rows`
    (PostGIS reads a geometry's binary input as EWKB)."""
    records = np.empty(len(x), dtype=_POINT_EWKB)
    records["order"] = 1
    records["type"] = 0x20000001
    records["srid"] = srid
    records["x"], records["y"] = x, y
    return records.view(np.uint8).reshape(len(x), _POINT_EWKB.itemsize)


def digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative int64s as an (n, width) ASCII matrix (a "char"
    column for `binary_copy_rows`)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((numbers[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def binary_copy_rows(columns: list[Column]) -> bytes:
    """Rows of a PostgreSQL binary COPY stream (without header and trailer) from these columns,
    built with array operations: per row an int16 field count, then per field an int32 length
    (-1: NULL) and the value in network byte order. See `Column` for the kinds."""
    n = len(columns[0][1])
    # Per column: (lengths, fixed-width values as an (n, width) matrix, or else a pool of bytes).
    encoded: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = []
    for kind, data, nulls in columns:
        if kind == "char":
            raw = np.ascontiguousarray(data, dtype=np.uint8)
            encoded.append((np.full(n, raw.shape[1], dtype=np.int64), raw, None))
        elif kind in _FIXED:
            nulls = np.zeros(n, dtype=bool) if nulls is None else np.asarray(nulls, dtype=bool)
            if kind == "date":
                values = np.where(
                    nulls,
                    0,
                    (np.asarray(data, "datetime64[D]") - POSTGRES_EPOCH_DAY).astype(np.int64),
                )
            else:
                values = np.where(nulls, 0, data)
            raw = np.ascontiguousarray(values.astype(_FIXED[kind])).view(np.uint8).reshape(n, -1)
            width = raw.shape[1]
            lengths = np.where(nulls, -1, width)
            encoded.append((lengths, raw, None))
        else:
            lengths, joined = variable_bytes(kind, np.asarray(data, dtype=object))
            encoded.append((lengths, None, joined))
    sizes = [4 + np.maximum(lengths, 0) for lengths, _, _ in encoded]
    row_size = 2 + np.sum(sizes, axis=0)
    row_start = np.concatenate([[0], np.cumsum(row_size)])[:-1]
    buffer = np.zeros(int(row_size.sum()), dtype=np.uint8)

    def put(positions: np.ndarray, block: np.ndarray) -> None:
        buffer[positions[:, None] + np.arange(block.shape[1])] = block

    put(row_start, np.full(n, len(columns), dtype=">i2").view(np.uint8).reshape(n, 2))
    position = row_start + 2
    for (lengths, fixed, pool), size in zip(encoded, sizes, strict=True):
        put(position, lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        if fixed is not None:
            present = lengths >= 0
            put(position[present] + 4, fixed[present])
        elif pool is not None and len(pool):
            counts = np.maximum(lengths, 0)
            out_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
            target = np.repeat(position + 4 - out_start, counts) + np.arange(counts.sum())
            buffer[target] = pool
        position = position + size
    return buffer.tobytes()
