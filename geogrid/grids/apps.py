from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class GridsConfig(AppConfig):
    name = "geogrid.grids"
    label = "grids"
    verbose_name = _("网格")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.
        from geogrid.core.codes import register_explainer
        from geogrid.grids.codes import explain_grid_code

        register_explainer([6, 9, 12, settings.GEOGRID_UNIT_GRID_CODE_LENGTH], explain_grid_code)

        from geogrid.core.demo import register_demo_step
        from geogrid.grids.demo import GRIDS_STEP

        register_demo_step(GRIDS_STEP)

        # Dividing by workload (docs/domain.md §2.7): grids knows population; components and
        # cases register their own sources.
        from geogrid.grids.workload import POPULATION, register_workload_source

        register_workload_source(POPULATION)
