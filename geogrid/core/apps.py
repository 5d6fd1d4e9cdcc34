from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "geogrid.core"
    label = "core"
    verbose_name = "GeoGrid core"
