from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "geogrid.core"
    label = "core"
    verbose_name = "GeoGrid core"

    def ready(self) -> None:
        # Registers the basemap setting's system check.
        from geogrid.core import basemap  # noqa: F401
