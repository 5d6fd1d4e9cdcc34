from django.urls import path

from geogrid.components import api

app_name = "components-api"

urlpatterns = [
    path("components/", api.ComponentListView.as_view(), name="component-list"),
    path("components/<str:code>/", api.ComponentDetailView.as_view(), name="component-detail"),
    path(
        "components/<str:code>/photos/", api.ComponentPhotosView.as_view(), name="component-photos"
    ),
    path(
        "components/<str:code>/status/", api.ComponentStatusView.as_view(), name="component-status"
    ),
]
