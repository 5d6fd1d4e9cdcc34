"""The fields a component file may have and the values they take (docs/domain.md §3.4): the
GB/T 47678.5 table 2 names first, then plain names, and the Chinese labels of the status and
data-source values, both ways (exports write the labels, imports take either)."""

from __future__ import annotations

from geogrid.components.models import ComponentStatus, DataSource

# Attribute columns: GB/T 47678.5 table 2 names first, then plain names (case-insensitive).
ATTRIBUTE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("GLBJMC", "name"),
    "status": ("GLBJZT", "status"),
    "competent": ("ZGBMDM", "competent_department"),
    "owner": ("QSDWDM", "owner_department"),
    "maintainer": ("YHDWDM", "maintainer_department"),
    "initial_date": ("CSRQ", "initial_date"),
    "change_date": ("BGRQ", "change_date"),
    "data_source": ("SJLY", "data_source"),
    "notes": ("BZ", "notes"),
    "location_description": ("location_description",),
    "material": ("material",),
}
CLASS_FIELDS = ("LBDM", "class_code", "class")
LON_FIELDS = ("lon", "lng", "longitude", "x", "经度")
LAT_FIELDS = ("lat", "latitude", "y", "纬度")
WKT_FIELDS = ("WKT", "geometry", "geom")

# Chinese labels and stored values, both ways: exports write the labels, imports take either.
STATUS_LABELS = {
    "intact": "完好",
    "damaged": "破损",
    "lost": "丢失",
    "occupied": "占用",
    "abandoned": "废弃",
}
DATA_SOURCE_LABELS = {
    "surveyed": "实测",
    "map": "地形图",
    "base_data": "基础地理数据",
    "other": "其他",
}
STATUS_ORDER = list(ComponentStatus.values)
DATA_SOURCE_ORDER = list(DataSource.values)
STATUS_INPUT = {**{v: v for v in STATUS_ORDER}, **{z: v for v, z in STATUS_LABELS.items()}}
DATA_SOURCE_INPUT = {
    **{v: v for v in DATA_SOURCE_ORDER},
    **{z: v for v, z in DATA_SOURCE_LABELS.items()},
    "其它": "other",
    "调绘": "other",
}  # legacy CJ/T 214 values
TEXT_LIMITS = {"name": 100, "location_description": 256, "material": 50}
ATTRIBUTE_LABELS = {
    "competent": "competent department (主管部门, ZGBMDM)",
    "owner": "owner (权属单位, QSDWDM)",
    "maintainer": "maintainer (养护单位, YHDWDM)",
    "initial_date": "initial date (CSRQ)",
    "change_date": "change date (BGRQ)",
}
