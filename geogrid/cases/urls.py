"""Case REST API under /api/v1/."""

from __future__ import annotations

from django.urls import path

from geogrid.cases import api

app_name = "cases-api"
urlpatterns = [
    path("case-classes/", api.CaseClassListView.as_view(), name="case-class-list"),
    path("cases/", api.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/", api.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/transition/", api.CaseTransitionView.as_view(), name="case-transition"),
    path("cases/<int:pk>/escalate/", api.CaseEscalateView.as_view(), name="case-escalate"),
]
