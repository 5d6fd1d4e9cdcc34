"""Component codes of both schemes: validation and explanation (one endpoint for all codes)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geogrid.components.services import create_component
from geogrid.core.codes import CodeError, parse_component_code
from tests.geometry import point


def test_parse_splits_both_schemes():
    legacy = parse_component_code("3205080101000001")
    assert (legacy.scheme, legacy.district_code, legacy.class_code, legacy.serial) == (
        "cjt214",
        "320508",
        "0101",
        1,
    )
    current = parse_component_code("11010101001000123")
    assert (current.scheme, current.major_code, current.minor_code, current.serial) == (
        "gbt47678",
        "01",
        "001",
        123,
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "required"),
        ("1101010100100012X", "digits only"),
        ("110101010010001", "15 digits"),
        ("99999901001000001", "not a GB/T 2260"),
        ("11010101001000000", "start at 000001"),
    ],
)
def test_bad_component_codes_say_what_is_wrong(code, message):
    with pytest.raises(CodeError, match=message):
        parse_component_code(code)


def test_explain_names_district_classes_serial_and_grid(city, manhole_class, admin_user):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    body = APIClient().get(f"/api/v1/codes/explain/{component.code}").json()
    assert body["kind"] == "component" and "47678" in body["scheme"]
    assert [p["name"] for p in body["parts"][:3]] == ["东城区", "市政公用设施", "供水井盖"]
    assert body["parts"][3]["segment"] == "000001"
    assert body["grid"]["code"] == city["west_c"].code + "001"
    assert body["exists"] is True and body["competent_department"]


def test_explain_a_legacy_code_of_a_known_class(taxonomy):
    body = APIClient().get("/api/v1/codes/explain/1101010118000007").json()
    assert body["class"]["name"] == "路灯" and body["exists"] is False
    assert "30428.2" in body["scheme"]


def test_explain_rejects_lengths_of_no_code(db):
    response = APIClient().get("/api/v1/codes/explain/1234567890")
    assert response.status_code == 400 and "No code has 10 digits" in response.json()["detail"]


# --- Properties (Hypothesis, derandomised) ------------------------------------------------------
from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from geogrid.components.codes import explain_component_code  # noqa: E402
from geogrid.core.codes import COMPONENT_SCHEMES, component_code, district_names  # noqa: E402


@hypothesis_settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    district=st.sampled_from(sorted(district_names())),
    scheme=st.sampled_from(sorted(COMPONENT_SCHEMES)),
    class_number=st.integers(min_value=100, max_value=99_999),
    serial=st.integers(min_value=1, max_value=999_999),
)
def test_explained_component_code_parts_join_back_into_the_code(
    db, district, scheme, class_number, serial
):
    width = 2 + COMPONENT_SCHEMES[scheme]["minor"]
    class_code = f"{class_number % 10**width:0{width}d}"
    code = component_code(district, class_code, serial, scheme)
    explained = explain_component_code(code)
    parts = explained["parts"]
    assert explained["code"] == code and explained["kind"] == "component"
    assert "".join(part["segment"] for part in parts) == code
    assert [part["level"] for part in parts] == ["district", "major", "minor", "serial"]
    assert parts[2]["code"] == class_code and int(parts[3]["segment"]) == serial
