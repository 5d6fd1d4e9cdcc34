"""Demo users: one per role. Their password is the well-known `geogrid-demo` (printed by
load_demo) only on a demo database of a debug process; anywhere else (load_demo --force with
debug off, or beside data the demo did not make) they get unusable passwords."""

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
# Eleven more inspectors, one per block of ~18 unit grids next to the first one's (一格一员):
# the demo's patrol history needs more than one inspector for its indicators to compare.
FIELD_INSPECTORS = [
    (f"inspector-{n:02d}", Role.INSPECTOR, f"监督员 {name}")
    for n, name in enumerate(
        ["李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴芳", "徐强", "孙丽"],
        start=2,
    )
]
DEMO_USERNAMES = [username for username, _, _ in DEMO_USERS + FIELD_INSPECTORS]


@transaction.atomic
def ensure_demo_users(context: dict[str, Any], progress: Progress) -> list[str]:
    # Missing (a fresh process that never decided) means no: the safe side.
    passwords = bool(context.get("demo_passwords"))
    users = {}
    disarmed = []
    for username, role, label in DEMO_USERS + FIELD_INSPECTORS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD if passwords else None,
                role=role,
                first_name=label,
                is_staff=role in (Role.ADMIN, Role.PLANNER),
                is_superuser=role == Role.ADMIN,
            )
        elif not passwords and user.check_password(DEMO_PASSWORD):
            # A persona made by an earlier debug load: its password is published in the README,
            # so it must not stay usable on a database loaded without debug.
            user.set_unusable_password()
            user.save(update_fields=["password"])
            disarmed.append(username)
        users[username] = user
    context["users"] = users
    context["actor"] = users["admin"]
    if disarmed:
        return [
            f"Demo users {', '.join(disarmed)}: the well-known demo password was replaced "
            "by an unusable one."
        ]
    return []


def credentials(context: dict[str, Any], progress: Progress) -> list[str]:
    site = os.environ.get("GEOGRID_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    if context.get("demo_passwords"):
        lines = [f"\nDemo users — log in at {site}/login/ (password for all: {DEMO_PASSWORD}):"]
    else:
        lines = [
            f"\nDemo users at {site}/login/ — their passwords are UNUSABLE (loaded with "
            "--force, with GEOGRID_DEBUG off or beside other data); give one a password "
            "with `manage.py changepassword USERNAME`:"
        ]
    lines += [
        f"  {username:<11} {Role(role).label} — {label}" for username, role, label in DEMO_USERS
    ]
    lines.append(
        f"  and {len(FIELD_INSPECTORS)} more inspectors, {FIELD_INSPECTORS[0][0]} … "
        f"{FIELD_INSPECTORS[-1][0]}, each with a block of unit grids and a year of patrols"
    )
    return lines


def foreign_users() -> list[str]:
    others = User.objects.exclude(username__in=DEMO_USERNAMES).count()
    if others:
        return [f"{others:,} user(s) other than the demo personas ({', '.join(DEMO_USERNAMES)})"]
    return []


USERS_STEP = DemoStep(name="users", order=0, run=ensure_demo_users, foreign=foreign_users)
# Printed last, so the credentials are what a person sees at the end of `make demo`.
CREDENTIALS_STEP = DemoStep(name="credentials", order=1000, run=credentials)
