from django.urls import path

from geogrid.grids import api, edit_api

app_name = "grids-api"

urlpatterns = [
    path("grids/", api.GridListView.as_view(), name="grid-list"),
    path("grids/edits/", edit_api.GridEditView.as_view(), name="grid-edit"),
    path("grids/<str:code>/history/", edit_api.GridHistoryView.as_view(), name="grid-history"),
    path("grids/<str:code>/", api.GridDetailView.as_view(), name="grid-detail"),
    path("grids/<str:code>/topology/", api.GridTopologyView.as_view(), name="grid-topology"),
    path("locate", api.LocateView.as_view(), name="locate"),
    path("locate/", api.LocateAliasView.as_view()),
    path("codes/explain/<str:code>", api.CodeExplainView.as_view(), name="code-explain"),
    path("codes/explain/<str:code>/", api.CodeExplainAliasView.as_view()),
]
