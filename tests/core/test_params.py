"""The one parser of query parameters: NUL bytes, impossible and out-of-range dates, numbers
beyond what PostgreSQL holds are ParamErrors naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from geogrid.core import params as qp


def _q(text: str) -> QueryDict:
    return QueryDict(text)


@pytest.mark.parametrize(
    "parser",
    [
        lambda q: qp.text(q, "x"),
        lambda q: qp.integer(q, "x"),
        lambda q: qp.number(q, "x"),
        lambda q: qp.boolean(q, "x"),
        lambda q: qp.moment(q, "x"),
        lambda q: qp.day(q, "x"),
        lambda q: qp.bbox(q, "x"),
        lambda q: qp.texts(q, "x"),
        lambda q: qp.choice(q, "x", ["a"]),
    ],
)
def test_params_refuse_a_nul_byte_naming_the_parameter(parser):
    with pytest.raises(qp.ParamError) as caught:
        parser(_q("x=%00"))
    assert caught.value.field == "x"


@pytest.mark.parametrize(
    "raw",
    [
        "2026-02-30T00:00:00+08:00",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-08:00",
        "2026-01-01T25:00:00Z",
        "yesterday",
    ],
)
def test_moment_refuses_impossible_and_out_of_range_dates(raw):
    with pytest.raises(qp.ParamError, match="'since'"):
        qp.moment({"since": raw}, "since")


def test_moment_reads_an_unencoded_offset_and_requires_a_zone_unless_local_is_allowed():
    value = qp.moment({"t": "2026-11-01T08:00:00 08:00"}, "t")
    assert value == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(qp.ParamError, match="no time zone"):
        qp.moment({"t": "2026-11-01T08:00:00"}, "t")
    local = qp.moment({"t": "2026-11-01T08:00:00"}, "t", local_ok=True)
    assert local.utcoffset() == timedelta(hours=8)  # the server's zone, Asia/Shanghai


def test_parse_moment_takes_a_bare_date_only_when_allowed():
    value, whole_day = qp.parse_moment("2026-11-01", "start_date", date_ok=True)
    assert whole_day and value.hour == 0 and value.utcoffset() == timedelta(hours=8)
    with pytest.raises(qp.ParamError):
        qp.parse_moment("0001-01-01", "end_date", date_ok=True)
    with pytest.raises(qp.ParamError):
        qp.parse_moment("2026-11-01", "start_date")


@pytest.mark.parametrize("raw", ["99999999999999999999", "0", "-3", "1.5", "ten", "２"])
def test_integer_refuses_out_of_range_and_non_numbers(raw):
    with pytest.raises(qp.ParamError, match="'limit' must be a whole number from 1 to 500"):
        qp.integer({"limit": raw}, "limit", maximum=500)


def test_integer_number_boolean_and_bbox_read_good_values():
    assert qp.integer({"n": "42"}, "n") == 42 and qp.integer({}, "n", default=7) == 7
    assert qp.number({"r": "2.5"}, "r") == 2.5
    for raw in ("nan", "inf", "1e400"):
        with pytest.raises(qp.ParamError):
            qp.number({"r": raw}, "r")
    assert qp.boolean({"b": "Yes"}, "b") is True and qp.boolean({"b": "0"}, "b") is False
    with pytest.raises(qp.ParamError, match="true or false"):
        qp.boolean({"b": "maybe"}, "b")
    assert qp.bbox({"bbox": "116,39,117,40"}) == (116.0, 39.0, 117.0, 40.0)
    with pytest.raises(qp.ParamError, match="min must not exceed max"):
        qp.bbox({"bbox": "117,39,116,40"})


def test_text_refuses_over_long_values():
    with pytest.raises(qp.ParamError, match="at most 30"):
        qp.text({"grid": "1" * 31}, "grid", max_length=30)
    assert qp.texts(_q("s=a,b&s=c"), "s") == ["a", "b", "c"]


# --- since/until periods ----------------------------------------------------------------------
def test_period_without_since_or_until_is_no_time_filter():
    assert qp.period(_q("")) == (None, None)


def test_period_defaults_to_the_days_before_until_and_until_to_now():
    since, until = qp.period(_q(""), default_days=30)
    assert until - since == timedelta(days=30)
    assert abs(until - datetime.now(UTC)) < timedelta(minutes=1)


def test_period_refuses_a_span_beyond_the_maximum_naming_since(settings):
    settings.GEOGRID_MAX_PERIOD_DAYS = 10
    with pytest.raises(qp.ParamError, match="11 days long; at most 10 days") as caught:
        qp.period(_q("since=2026-01-01T00:00:00%2B08:00&until=2026-01-12T00:00:00%2B08:00"))
    assert caught.value.field == "since"
    since, until = qp.period(
        _q("since=2026-01-01T00:00:00%2B08:00&until=2026-01-11T00:00:00%2B08:00")
    )
    assert until - since == timedelta(days=10)


def test_period_with_an_open_end_runs_to_now_and_is_bounded_too(settings):
    settings.GEOGRID_MAX_PERIOD_DAYS = 10
    recent = (datetime.now(UTC) - timedelta(days=9)).isoformat().replace("+", "%2B")
    assert qp.period(_q(f"since={recent}"))[1] is None
    old = (datetime.now(UTC) - timedelta(days=11)).isoformat().replace("+", "%2B")
    with pytest.raises(qp.ParamError, match="at most 10 days"):
        qp.period(_q(f"since={old}"))


def test_period_with_until_alone_asks_for_since():
    with pytest.raises(qp.ParamError, match="needs a 'since'") as caught:
        qp.period(_q("until=2026-01-01T00:00:00%2B08:00"))
    assert caught.value.field == "since"


def test_period_refuses_an_end_before_the_start():
    with pytest.raises(qp.ParamError, match="after 'since'") as caught:
        qp.period(_q("since=2026-01-02T00:00:00%2B08:00&until=2026-01-01T00:00:00%2B08:00"))
    assert caught.value.field == "until"
