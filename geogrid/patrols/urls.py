"""Patrol REST API under /api/v1/."""

from __future__ import annotations

from django.urls import path

from geogrid.patrols import api

app_name = "patrols-api"
urlpatterns = [
    path("patrols/", api.PatrolListView.as_view(), name="patrol-list"),
    path("patrols/coverage/", api.CoverageView.as_view(), name="patrol-coverage"),
    path("patrols/visits/", api.VisitsView.as_view(), name="patrol-visits"),
    path("patrols/<int:pk>/", api.PatrolDetailView.as_view(), name="patrol-detail"),
    path("patrols/<int:pk>/points/", api.PatrolPointsView.as_view(), name="patrol-points"),
    path("patrols/<int:pk>/end/", api.PatrolEndView.as_view(), name="patrol-end"),
]
