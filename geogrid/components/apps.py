from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComponentsConfig(AppConfig):
    name = "geogrid.components"
    label = "components"
    verbose_name = _("城市部件")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.

        # Grid edits learn which components they move through the grids impact registry
        # (docs/architecture.md §2.3: grids knows nothing of components).
        from geogrid.components import assignment
        from geogrid.grids.impact import register_impact_provider

        register_impact_provider(assignment.COMPONENT_IMPACT)

        from geogrid.components.codes import explain_component_code
        from geogrid.core.codes import register_explainer

        register_explainer([16, 17], explain_component_code)

        from geogrid.components.demo import COMPONENTS_STEP
        from geogrid.core.demo import register_demo_step

        register_demo_step(COMPONENTS_STEP)

        from geogrid.components import privacy

        # /media/components/… is served only to those who may read the photo's component.
        privacy.register()

        from geogrid.components.workload import COMPONENTS_WORKLOAD
        from geogrid.grids.workload import register_workload_source

        register_workload_source(COMPONENTS_WORKLOAD)
