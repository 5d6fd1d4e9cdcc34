from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TilesConfig(AppConfig):
    name = "geogrid.tiles"
    label = "tiles"
    verbose_name = _("矢量切片")
