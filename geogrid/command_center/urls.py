"""Command-center API under /api/v1/command-center/."""

from __future__ import annotations

from django.urls import path

from geogrid.command_center import api, patrol_api

app_name = "command-center-api"
urlpatterns = [
    path("command-center/grid-counts/", api.GridCountsView.as_view(), name="grid-counts"),
    path("command-center/indicators/", api.IndicatorsView.as_view(), name="indicators"),
    path("command-center/indicators/rows/", api.IndicatorRowsView.as_view(), name="indicator-rows"),
    path("command-center/hot-grids/", api.HotGridsView.as_view(), name="hot-grids"),
    path("command-center/overdue/", api.OverdueView.as_view(), name="overdue"),
    path(
        "command-center/grids/<str:code>/summary/",
        api.GridSummaryView.as_view(),
        name="grid-summary",
    ),
    path(
        "command-center/patrols/indicators/",
        patrol_api.PatrolIndicatorsView.as_view(),
        name="patrol-indicators",
    ),
    path(
        "command-center/patrols/replay/",
        patrol_api.PatrolReplayView.as_view(),
        name="patrol-replay",
    ),
]
