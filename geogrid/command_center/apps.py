from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommandCenterConfig(AppConfig):
    name = "geogrid.command_center"
    label = "command_center"
    verbose_name = _("指挥中心")
