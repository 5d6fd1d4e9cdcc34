"""Credentials: TOTP devices (two-factor log-in) and API tokens.

TOTP devices are django-otp's (django_otp.plugins.otp_totp); a person has at most one confirmed
device. API tokens are django-rest-knox's: only a SHA-512 digest is stored, each expires after
GEOGRID_API_TOKEN_TTL_HOURS, and revoking one deletes its row.
"""

from __future__ import annotations

import logging
from base64 import b32encode
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from geogrid.accounts.actors import Actor
from geogrid.accounts.models import Role, User

logger = logging.getLogger(__name__)

# The roles that must use a second factor when GEOGRID_REQUIRE_2FA is on: they change the
# grids and the accounts of the whole city.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.PLANNER})


def required_for(user: User | AnonymousUser) -> bool:
    return bool(
        settings.GEOGRID_REQUIRE_2FA
        and user.is_authenticated
        and user.effective_role in TWO_FACTOR_ROLES
    )


def device_for(user: User | AnonymousUser) -> TOTPDevice | None:
    """The person's confirmed TOTP device, if any."""
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


@transaction.atomic
def pending_device(user: User | AnonymousUser) -> TOTPDevice:
    """The unconfirmed device being enrolled (one per person, made on first visit): the page
    and its QR code must show the same key until it is confirmed."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("id")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="GeoGrid", confirmed=False)
    return device


def base32_key(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed (no padding)."""
    return b32encode(device.bin_key).decode("ascii").rstrip("=")


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


@transaction.atomic
def confirm(device: TOTPDevice, code: str) -> bool:
    """Enrolment: the first right code confirms the device; other unconfirmed ones go."""
    code = _clean(code)
    if not (code.isascii() and code.isdigit()) or not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    logger.info("TOTP device %s confirmed", device.pk)
    return True


def verify(user: User | AnonymousUser, code: str) -> TOTPDevice | None:
    """The confirmed device that accepts `code` now (each code works once), or None."""
    code = _clean(code)
    device = device_for(user)
    if device is None or not (code.isascii() and code.isdigit()):
        return None
    with transaction.atomic():
        # Lock the device: two requests with the same code cannot both pass.
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return device if device.verify_token(code) else None


# --- API tokens ---------------------------------------------------------------------------------
def token_ttl() -> timedelta:
    return timedelta(hours=settings.GEOGRID_API_TOKEN_TTL_HOURS)


def issue_token(*, user: User) -> tuple[str, datetime]:
    """A new API token for `user`: (the token, shown this once; its expiry)."""
    instance, token = AuthToken.objects.create(user=user, expiry=token_ttl())
    logger.info(
        "api token issued", extra={"user_id": user.pk, "expires_at": instance.expiry.isoformat()}
    )
    return token, instance.expiry


def revoke_tokens(*, actor: Actor | None, tokens: QuerySet[AuthToken]) -> int:
    """Delete the given tokens (a queryset); they stop working at once. Returns how many."""
    deleted = tokens.delete()[0]
    logger.info(
        "api tokens revoked", extra={"count": deleted, "actor_id": getattr(actor, "pk", None)}
    )
    return deleted


def purge_expired_tokens() -> int:
    """Delete the API tokens whose expiry has passed (knox refuses them already, but deletes one
    only when it is presented again, so the table would otherwise grow). Returns how many."""
    deleted: int = AuthToken.objects.filter(expiry__lte=timezone.now()).delete()[0]
    logger.info("%s expired API token(s) deleted", deleted)
    return deleted


__all__ = [
    "TWO_FACTOR_ROLES",
    "base32_key",
    "confirm",
    "device_for",
    "issue_token",
    "pending_device",
    "purge_expired_tokens",
    "required_for",
    "revoke_tokens",
    "token_ttl",
    "verify",
]
