"""Command-center API under /api/v1/command-center/."""

from __future__ import annotations

from django.urls import path

from geogrid.command_center import api

app_name = "command-center-api"
urlpatterns = [
    path("command-center/grid-counts/", api.GridCountsView.as_view(), name="grid-counts"),
]
