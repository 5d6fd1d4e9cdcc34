"""The four standard grid levels (district › street › community › unit grid).

Levels are data: a city may edit their names and area bounds, or add levels, in the admin.
"""

from django.conf import settings
from django.db import migrations

from geogrid.grids.levels import DEFAULT_LEVELS


def create_levels(apps, schema_editor):
    GridLevel = apps.get_model("grids", "GridLevel")
    for slug, name, name_en, depth, length, min_area, max_area in DEFAULT_LEVELS:
        GridLevel.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_en": name_en,
                "depth": depth,
                "code_length": length or settings.GEOGRID_UNIT_GRID_CODE_LENGTH,
                "min_area_m2": min_area,
                "max_area_m2": max_area,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_initial")]
    operations = [migrations.RunPython(create_levels, migrations.RunPython.noop)]
