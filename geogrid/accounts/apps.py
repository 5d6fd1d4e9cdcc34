from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "geogrid.accounts"
    label = "accounts"
    verbose_name = _("账户与角色")

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.
        from geogrid.accounts.demo import CREDENTIALS_STEP, USERS_STEP
        from geogrid.core.demo import register_demo_step

        register_demo_step(USERS_STEP)
        register_demo_step(CREDENTIALS_STEP)
