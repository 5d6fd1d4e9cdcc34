"""geogrid.core.pgcopy: the numpy encoder of PostgreSQL's binary COPY format, checked without a
database against the format as PostgreSQL documents it ("COPY", "Binary Format"): the header
and trailer, per row an int16 field count, per field an int32 length (-1 for NULL) and the
value in network byte order. Expected bytes are built here with `struct`, one value at a time,
and points' EWKB is compared with what shapely writes."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
import shapely

from geogrid.core.pgcopy import (
    COPY_HEADER,
    COPY_TRAILER,
    binary_copy_rows,
    digit_matrix,
    point_ewkb,
    timestamptz,
    variable_bytes,
)

NULL = struct.pack(">i", -1)


def field(value: bytes) -> bytes:
    """One non-NULL field as the format has it: its length, then its bytes."""
    return struct.pack(">i", len(value)) + value


def row(*fields: bytes) -> bytes:
    return struct.pack(">h", len(fields)) + b"".join(fields)


def decode(stream: bytes) -> list[list[bytes | None]]:
    """Rows of a COPY stream without header and trailer, each a list of field bytes (None for
    NULL): a reader written from the format, independent of the encoder."""
    rows, position = [], 0
    while position < len(stream):
        (count,) = struct.unpack_from(">h", stream, position)
        position += 2
        fields: list[bytes | None] = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", stream, position)
            position += 4
            if length == -1:
                fields.append(None)
            else:
                fields.append(stream[position : position + length])
                position += length
        rows.append(fields)
    return rows


def test_header_and_trailer_are_the_documented_bytes():
    # 11-byte signature, int32 flags (no OIDs), int32 header-extension length; trailer int16 -1.
    assert b"PGCOPY\n\377\r\n\0" + struct.pack(">ii", 0, 0) == COPY_HEADER
    assert len(COPY_HEADER) == 19
    assert struct.pack(">h", -1) == COPY_TRAILER


def test_integer_float_and_bool_columns_in_network_byte_order_with_nulls():
    int8 = np.array([1, -2, 2**62, 0], dtype=np.int64)
    int4 = np.array([7, 0, -(2**31), 2**31 - 1], dtype=np.int32)
    int2 = np.array([-1, 300, 0, 5], dtype=np.int16)
    float8 = np.array([0.5, -1e300, np.inf, 116.397_128], dtype=np.float64)
    flags = np.array([True, False, True, False])
    int8_null = np.array([False, False, False, True])
    bool_null = np.array([False, True, False, False])
    stream = binary_copy_rows(
        [
            ("int8", int8, int8_null),
            ("int4", int4, None),
            ("int2", int2, None),
            ("float8", float8, None),
            ("bool", flags, bool_null),
        ]
    )
    expected = b"".join(
        row(
            NULL if int8_null[i] else field(struct.pack(">q", int(int8[i]))),
            field(struct.pack(">i", int(int4[i]))),
            field(struct.pack(">h", int(int2[i]))),
            field(struct.pack(">d", float(float8[i]))),
            NULL if bool_null[i] else field(b"\x01" if flags[i] else b"\x00"),
        )
        for i in range(4)
    )
    assert stream == expected
    assert [len(fields) for fields in decode(stream)] == [5, 5, 5, 5]


def test_text_is_utf8_with_lengths_in_bytes_empty_is_not_null():
    texts = np.array(["窨井盖", "", None, "manhole", "窨井盖", "a\tb\nc"], dtype=object)
    stream = binary_copy_rows([("text", texts, None)])
    assert decode(stream) == [
        ["窨井盖".encode()],
        [b""],
        [None],
        [b"manhole"],
        ["窨井盖".encode()],
        [b"a\tb\nc"],
    ]
    # Lengths count bytes, not characters: 窨井盖 is nine bytes of UTF-8.
    assert stream.startswith(row(field("窨井盖".encode())))


def test_a_column_of_nulls_only_and_a_column_of_empty_texts():
    nothing = np.array([None, None], dtype=object)
    empty = np.array(["", ""], dtype=object)
    assert binary_copy_rows([("text", nothing, None), ("text", empty, None)]) == (
        row(NULL, field(b"")) * 2
    )


def test_dates_are_days_since_2000_and_nat_with_its_mask_is_null():
    days = np.array(["2000-01-01", "1999-12-31", "2026-12-03", "NaT"], dtype="datetime64[D]")
    stream = binary_copy_rows([("date", days, np.isnat(days))])
    epoch = date(2000, 1, 1)
    expected = [
        (date(2000, 1, 1) - epoch).days,
        (date(1999, 12, 31) - epoch).days,
        (date(2026, 12, 3) - epoch).days,
    ]
    assert decode(stream) == [[struct.pack(">i", d)] for d in expected] + [[None]]
    assert expected == [0, -1, 9833]


def test_bytea_and_fixed_width_char_columns():
    blobs = np.array([b"\x00\x01", None, b""], dtype=object)
    codes = digit_matrix(np.array([11010101001000001, 42, 0], dtype=np.int64), 17)
    stream = binary_copy_rows([("bytea", blobs, None), ("char", codes, None)])
    assert decode(stream) == [
        [b"\x00\x01", b"11010101001000001"],
        [None, b"00000000000000042"],
        [b"", b"00000000000000000"],
    ]


def test_mixed_row_as_a_whole_stream():
    stream = (
        COPY_HEADER
        + binary_copy_rows(
            [
                ("int8", np.array([5], dtype=np.int64), None),
                ("text", np.array(["北京"], dtype=object), None),
                ("int4", np.array([1], dtype=np.int32), np.array([True])),
            ]
        )
        + COPY_TRAILER
    )
    assert stream == (
        b"PGCOPY\n\377\r\n\0"
        + b"\0\0\0\0"
        + b"\0\0\0\0"
        + b"\0\x03"  # three fields
        + b"\0\0\0\x08"
        + b"\0\0\0\0\0\0\0\x05"
        + b"\0\0\0\x06"
        + "北京".encode()
        + b"\xff\xff\xff\xff"  # NULL
        + b"\xff\xff"
    )


def test_variable_bytes_encodes_each_distinct_text_once_but_places_every_row():
    texts = np.array(["a", "bb", "a", None, "bb", ""], dtype=object)
    lengths, data = variable_bytes("text", texts)
    assert lengths.tolist() == [1, 2, 1, -1, 2, 0]
    assert data.tobytes() == b"abbabb"


def test_point_ewkb_is_the_bytes_shapely_writes():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-180, 180, 500), [0.0, -0.0, 116.397_128_1, 180.0]])
    y = np.concatenate([rng.uniform(-90, 90, 500), [0.0, 90.0, 39.916_527_3, -90.0]])
    expected = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 4490), include_srid=True)
    encoded = point_ewkb(x, y)
    assert encoded.shape == (len(x), 25)
    assert [r.tobytes() for r in encoded] == list(expected)


def test_point_ewkb_in_another_srid_as_a_copy_field():
    x, y = np.array([12_958_000.5]), np.array([4_852_000.25])
    expected = shapely.to_wkb(shapely.set_srid(shapely.points(x, y), 3857), include_srid=True)
    assert point_ewkb(x, y, srid=3857)[0].tobytes() == expected[0]
    stream = binary_copy_rows([("char", point_ewkb(x, y, srid=3857), None)])
    assert decode(stream) == [[expected[0]]]


@pytest.mark.parametrize(
    ("moment", "micros"),
    [
        (datetime(2000, 1, 1, tzinfo=UTC), 0),
        (datetime(2000, 1, 1, 0, 0, 1, 5, tzinfo=UTC), 1_000_005),
        (datetime(2000, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))), 0),
        (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), -1_000_000),
        # Exact to the microsecond (seconds as a float times 1e6 gave ...166 here).
        (datetime(2017, 2, 17, 22, 16, 31, 246167, tzinfo=UTC), 540_684_991_246_167),
    ],
)
def test_timestamptz_is_microseconds_since_2000_utc(moment, micros):
    assert timestamptz(moment) == micros
    stream = binary_copy_rows([("int8", np.array([timestamptz(moment)], dtype=np.int64), None)])
    assert decode(stream) == [[struct.pack(">q", micros)]]
