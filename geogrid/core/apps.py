from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "geogrid.core"
    label = "core"
    verbose_name = "GeoGrid core"

    def ready(self) -> None:
        # Imports here, not at the top: apps.py is imported while the app registry is still
        # loading models; ready() is where Django lets an app fill registries.
        # Registers the basemap setting's system check.
        from geogrid.core import basemap  # noqa: F401
