"""Grid code validation and explanation (docs/domain.md §2.2)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from geogrid.core.codes import CodeError, child_code, split_grid_code, validate_grid_code
from geogrid.grids.codes import explain_grid_code


@pytest.mark.parametrize("code", ["110101", "110101001", "110101001001", "110101001001007"])
def test_valid_codes_of_every_level_pass(code):
    assert validate_grid_code(code) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "required"),
        ("11010A", "digits only"),
        ("1101010", "has 7 digits"),
        ("999999", "not a GB/T 2260"),
        ("110101000", "cannot be 000"),
        ("110101001000", "cannot be 000"),
        ("110101001001000", "start at 1"),
    ],
)
def test_malformed_codes_are_refused_with_the_reason(code, reason):
    with pytest.raises(CodeError, match=reason):
        validate_grid_code(code)


def test_fourteen_digit_codes_follow_the_setting():
    with override_settings(GEOGRID_UNIT_GRID_CODE_LENGTH=14):
        assert validate_grid_code("11010100100107") == "11010100100107"
        with pytest.raises(CodeError):
            validate_grid_code("110101001001007")


def test_split_names_the_district_and_street_from_gbt2260():
    parts = split_grid_code("110101001001007")
    assert [p.level for p in parts] == ["district", "street", "community", "unit"]
    assert parts[0].name == "东城区" and parts[1].name == "东华门街道"
    assert parts[3].segment == "007"


def test_child_code_pads_and_refuses_exhausted_sequences():
    assert child_code("110101001001", 7, 15) == "110101001001007"
    with pytest.raises(CodeError, match="never reused"):
        child_code("110101001001", 1000, 15)


def test_explain_adds_stored_grid_names(city):
    unit = city["west_c"].code + "002"
    explained = explain_grid_code(unit)
    assert explained["exists"] is True and explained["level"] == "unit"
    assert [p["name"] for p in explained["parts"]][:3] == ["东城区", "西街道", "西社区"]
    assert "15 digits" in explained["scheme"]


# --- Properties (Hypothesis, derandomised) ------------------------------------------------------
from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from geogrid.core.codes import (  # noqa: E402
    COMPONENT_SCHEMES,
    component_code,
    district_names,
    parse_component_code,
)

PROPERTIES = hypothesis_settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
DISTRICTS = st.sampled_from(sorted(district_names()))
PART = st.integers(min_value=1, max_value=999)


@PROPERTIES
@given(
    district=DISTRICTS,
    street=PART,
    community=PART,
    sequence=st.integers(min_value=1, max_value=999),
)
def test_grid_code_allocation_round_trips_through_split(district, street, community, sequence):
    street_code = child_code(district, street, 9)
    community_code = child_code(street_code, community, 12)
    unit = child_code(community_code, sequence, 15)
    assert validate_grid_code(unit) == unit
    parts = split_grid_code(unit)
    assert [p.level for p in parts] == ["district", "street", "community", "unit"]
    assert "".join(p.segment for p in parts) == unit
    assert [int(p.segment) for p in parts[1:]] == [street, community, sequence]
    assert [p.code for p in parts] == [district, street_code, community_code, unit]


@PROPERTIES
@given(
    district=DISTRICTS,
    scheme=st.sampled_from(sorted(COMPONENT_SCHEMES)),
    major=PART,
    minor=st.integers(min_value=0, max_value=999),
    serial=st.integers(min_value=1, max_value=999_999),
)
def test_component_code_allocation_round_trips_through_parse(
    district, scheme, major, minor, serial
):
    width = COMPONENT_SCHEMES[scheme]["minor"]
    class_code = f"{major % 100:02d}{minor % 10**width:0{width}d}"
    code = component_code(district, class_code, serial, scheme)
    parsed = parse_component_code(code)
    assert (parsed.scheme, parsed.district_code, parsed.class_code, parsed.serial) == (
        scheme,
        district,
        class_code,
        serial,
    )
    assert len(code) == COMPONENT_SCHEMES[scheme]["length"]
