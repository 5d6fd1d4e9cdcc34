"""Demo users: one per role, password `geogrid-demo` (printed by load_demo)."""

from __future__ import annotations

import os
from typing import Any

from django.db import transaction

from geogrid.accounts.models import Role, User
from geogrid.core.demo import DemoStep, Progress

DEMO_PASSWORD = "geogrid-demo"
DEMO_USERS = [
    # username, role, display name
    ("admin", Role.ADMIN, "系统管理员"),
    ("planner", Role.PLANNER, "网格规划员"),
    ("inspector", Role.INSPECTOR, "监督员 王建国"),
    ("operator", Role.OPERATOR, "受理派遣员"),
    ("department", Role.DEPARTMENT, "专业部门处置员"),
    ("viewer", Role.VIEWER, "指挥中心"),
]


@transaction.atomic
def ensure_demo_users(context: dict[str, Any], progress: Progress) -> list[str]:
    users = {}
    for username, role, label in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username, password=DEMO_PASSWORD, role=role, first_name=label,
                is_staff=role in (Role.ADMIN, Role.PLANNER), is_superuser=role == Role.ADMIN,
            )
        users[username] = user
    context["users"] = users
    context["actor"] = users["admin"]
    return []


def credentials(context: dict[str, Any], progress: Progress) -> list[str]:
    site = os.environ.get("GEOGRID_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    lines = [f"\nDemo users — log in at {site}/login/ (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {username:<11} {Role(role).label} — {label}"
              for username, role, label in DEMO_USERS]
    return lines


USERS_STEP = DemoStep(name="users", order=0, run=ensure_demo_users)
# Printed last, so the credentials are what a person sees at the end of `make demo`.
CREDENTIALS_STEP = DemoStep(name="credentials", order=1000, run=credentials)
