from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferenceConfig(AppConfig):
    name = "geogrid.reference"
    label = "reference"
    verbose_name = _("参考图层")

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is imported while the app registry is still
        # loading models. The demo's generated layers load before the grids' step divides
        # along them (order 5 < 10).
        from geogrid.core.demo import register_demo_step
        from geogrid.reference.demo import REFERENCE_STEP

        register_demo_step(REFERENCE_STEP)
