from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "geogrid.cases"
    label = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from geogrid.cases.demo import CASES_STEP
        from geogrid.core.demo import register_demo_step

        register_demo_step(CASES_STEP)
