from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolsConfig(AppConfig):
    name = "geogrid.patrols"
    label = "patrols"
    verbose_name = _("巡查")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.
        from geogrid.core.demo import register_demo_step
        from geogrid.patrols.demo import PATROLS_STEP

        register_demo_step(PATROLS_STEP)
