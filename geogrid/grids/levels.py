"""The standard grid levels (docs/domain.md §2.1), created by migration grids.0002."""

DEFAULT_LEVELS = [
    # slug, name, English, depth, code length (None: GEOGRID_UNIT_GRID_CODE_LENGTH),
    # min and max area in m² (None: unbounded); a city edits these in the admin.
    ("district", "区县", "District", 0, 6, None, None),
    ("street", "街道", "Street", 1, 9, None, None),
    ("community", "社区", "Community", 2, 12, None, None),
    ("unit", "单元网格", "Unit grid", 3, None, 1_000.0, 50_000.0),
]
