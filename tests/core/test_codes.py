"""Grid code validation and explanation (design.md §4)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from geogrid.core.codes import CodeError, child_code, split_grid_code, validate_grid_code
from geogrid.grids.codes import explain_grid_code


@pytest.mark.parametrize("code", ["110101", "110101001", "110101001001", "110101001001007"])
def test_valid_codes_of_every_level_pass(code):
    assert validate_grid_code(code) == code


@pytest.mark.parametrize(("code", "reason"), [
    ("", "required"),
    ("11010A", "digits only"),
    ("1101010", "has 7 digits"),
    ("999999", "not a GB/T 2260"),
    ("110101000", "cannot be 000"),
    ("110101001000", "cannot be 000"),
    ("110101001001000", "start at 1"),
])
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
