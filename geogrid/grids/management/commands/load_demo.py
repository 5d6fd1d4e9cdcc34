"""manage.py load_demo: the demo city (Dongcheng, Beijing) and one demo user per role.

Idempotent: a second run finds everything in place, creates nothing and only prints the
credentials again.
"""

from __future__ import annotations

import os
import sys
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from geogrid.accounts.models import Role, User
from geogrid.grids.demo import DISTRICT_CODE, format_report, load_demo_city, unit_area_stats
from geogrid.grids.models import Grid, GridScope

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


class Command(BaseCommand):
    help = "Load the demo city (Beijing Dongcheng) and demo users; safe to run again."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        users = self.ensure_users()

        def progress(items):
            return tqdm(items, desc="Dividing communities into unit grids", unit="community",
                        file=sys.stderr, disable=options["verbosity"] == 0)

        result = load_demo_city(users["admin"], progress)
        self.ensure_scopes(users)
        if options["verbosity"] == 0:
            return
        if result.district_report is not None:
            self.stdout.write(format_report(result.district_report))
        stats = unit_area_stats()
        self.stdout.write(
            f"Demo city {DISTRICT_CODE} 东城区: created {result.streets_created} streets, "
            f"{result.communities_created} communities, {result.units_created} unit grids "
            f"in {time.monotonic() - started:.1f} s. Unit grids now: {stats.get('count', 0)}"
            + (f" (median {stats['median_m2']:,.0f} m²)" if stats.get("count") else "") + "."
        )
        self.stdout.write("Street, community and unit-grid boundaries are GENERATED for the demo; "
                          "only the district boundary and the street names/codes are real.")
        site = os.environ.get("GEOGRID_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        self.stdout.write(f"\nDemo users — log in at {site}/login/ "
                          f"(password for all: {DEMO_PASSWORD}):")
        for username, role, label in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {Role(role).label} — {label}")

    @transaction.atomic
    def ensure_users(self) -> dict[str, User]:
        users = {}
        for username, role, label in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username, password=DEMO_PASSWORD, role=role, first_name=label,
                    is_staff=role in (Role.ADMIN, Role.PLANNER),
                    is_superuser=role == Role.ADMIN,
                )
            users[username] = user
        return users

    @transaction.atomic
    def ensure_scopes(self, users: dict[str, User]) -> None:
        district = Grid.objects.get(code=DISTRICT_CODE)
        GridScope.objects.get_or_create(user=users["planner"], grid=district)
        # One inspector patrols ~18 unit grids (≈180,000 m², Dongcheng practice).
        if not users["inspector"].grid_scopes.exists():
            units = Grid.objects.active().filter(level__depth=3, code__startswith=DISTRICT_CODE)
            GridScope.objects.bulk_create(
                GridScope(user=users["inspector"], grid=g) for g in units.order_by("code")[:18]
            )
