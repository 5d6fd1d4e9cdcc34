"""Grid code explanations (grids/codes.py): the parts put back together are the code, for any
well-formed code (Hypothesis, derandomised)."""

from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from geogrid.core.codes import child_code, district_names
from geogrid.grids.codes import explain_grid_code

PROPERTIES = hypothesis_settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@PROPERTIES
@given(
    district=st.sampled_from(sorted(district_names())),
    path=st.lists(st.integers(min_value=1, max_value=999), min_size=0, max_size=3),
)
def test_explained_grid_code_parts_join_back_into_the_code(db, district, path):
    code, lengths = district, [9, 12, 15]
    for sequence, length in zip(path, lengths, strict=False):
        code = child_code(code, sequence, length)
    explained = explain_grid_code(code)
    assert explained["code"] == code and explained["kind"] == "grid"
    assert "".join(part["segment"] for part in explained["parts"]) == code
    assert [part["code"] for part in explained["parts"]] == [
        code[:n] for n in (6, 9, 12, 15)[: len(path) + 1]
    ]
    assert explained["level"] == ("district", "street", "community", "unit")[len(path)]
