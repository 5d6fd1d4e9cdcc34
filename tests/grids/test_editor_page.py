"""The grid editor page's options for dividing (docs/domain.md §2.7): where roads are loaded,
the workload sources, the default tolerance and the months of reports."""

from __future__ import annotations

import json
import re

from shapely.geometry import LineString

from tests import factories
from tests.geometry import to_lonlat


def editor_config(client, user) -> dict:
    client.force_login(user)
    response = client.get("/grids/editor/")
    assert response.status_code == 200
    found = re.search(
        r'<script id="editor-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found
    return json.loads(found.group(1))


def test_the_page_names_the_parents_with_roads_and_the_division_defaults(
    client, city, planner, settings
):
    settings.GEOGRID_DIVISION_TOLERANCE = 0.3
    settings.GEOGRID_DIVISION_REPORT_MONTHS = 6
    # A street across the east community only (x 200–400).
    factories.reference_features("roads", "street", to_lonlat(LineString([(300, 20), (300, 180)])))

    options = editor_config(client, planner)["divide"]

    # The community, its street and the district hold the road; the west ones and the unit
    # grids (which have no children to divide into) are not listed.
    assert options["featureParents"] == ["110101", "110101002", "110101002001"]
    assert [s["name"] for s in options["sources"]] == ["components", "population", "reports"]
    assert [s["label"] for s in options["sources"]] == ["部件", "人口", "案件"]
    assert (options["tolerance"], options["reportMonths"]) == (0.3, 6)


def test_without_reference_features_no_parent_is_offered_division_along_roads(
    client, city, planner
):
    assert editor_config(client, planner)["divide"]["featureParents"] == []


def test_the_page_counts_the_inspectors_under_each_parent_for_one_grid_each(client, city, planner):
    from geogrid.accounts.models import Role
    from geogrid.grids.models import Grid

    units = list(Grid.objects.filter(parent=city["west_c"]).order_by("code"))
    factories.user("inspector-1", Role.INSPECTOR, scope=[units[0]])
    factories.user("inspector-2", Role.INSPECTOR, scope=[units[1], units[2]])
    factories.user("inspector-3", Role.INSPECTOR, scope=[city["east_c"]])
    gone = factories.user("inspector-4", Role.INSPECTOR, scope=[units[3]])
    gone.is_active = False
    gone.save()
    factories.user("viewer-1", Role.VIEWER, scope=[units[3]])

    inspectors = editor_config(client, planner)["divide"]["inspectors"]

    # Each counted once per parent, whatever number of its grids they hold; no unit grid listed.
    assert inspectors == {
        "110101": 3,
        "110101001": 2,
        "110101001001": 2,
        "110101002": 1,
        "110101002001": 1,
    }
