from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "geogrid.cases"
    label = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.
        from geogrid.cases.intake import clear_case_class_cache
        from geogrid.cases.models import CaseClass

        # Intake keeps categories for a few seconds; an edit in this process is seen at once.
        for signal in (post_save, post_delete):
            signal.connect(
                lambda **kwargs: clear_case_class_cache(),
                sender=CaseClass,
                weak=False,
                dispatch_uid=f"cases-class-cache-{signal}",
            )

        from geogrid.cases.regridding import CASE_IMPACT
        from geogrid.grids.impact import register_impact_provider

        # Open cases follow their unit grid when a planner edits it.
        register_impact_provider(CASE_IMPACT)

        from geogrid.cases.demo import CASES_STEP
        from geogrid.core.demo import register_demo_step

        register_demo_step(CASES_STEP)

        from geogrid.cases import privacy

        # /media/cases/… is served by the case's access rule (cases/privacy.py).
        privacy.register()

        from geogrid.cases.calendar import work_calendar
        from geogrid.core.worktime import register_calendar_source

        # Working days for apps to the left of cases (the patrol schedules).
        register_calendar_source(work_calendar)

        # The holiday calendar's expiry warning (migrate, check --database, /readyz).
        from geogrid.cases import checks  # noqa: F401
        from geogrid.cases.workload import REPORTS_WORKLOAD
        from geogrid.grids.workload import register_workload_source

        register_workload_source(REPORTS_WORKLOAD)
