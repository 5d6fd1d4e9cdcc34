"""Component table constraints: the database itself refuses what the services never write."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from geogrid.components.services import create_component
from tests.geometry import point


@pytest.mark.parametrize(
    "bad_code",
    [
        "110101010010000",  # 15 digits
        "1101010100100",  # 13 digits (18 would not fit varchar(17) at all)
        "1101010100100000A",  # 17 characters, one not a digit
        "11010101001 00001",  # a space
        "１１０１０１０１００１０００００１",  # 17 full-width digits
    ],
)
def test_code_check_refuses_anything_but_16_or_17_ascii_digits(
    city, manhole_class, admin_user, bad_code
):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    with (
        pytest.raises(IntegrityError, match="components_code_digits"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE components_component SET code = %s WHERE id = %s", [bad_code, component.pk]
        )


@pytest.mark.parametrize("good_code", ["1101010100100009", "11010101001000009"])
def test_code_check_accepts_16_and_17_digit_codes(city, manhole_class, admin_user, good_code):
    component = create_component(
        actor=admin_user, component_class=manhole_class, geom=point(50, 150)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE components_component SET code = %s WHERE id = %s RETURNING code",
            [good_code, component.pk],
        )
        assert cursor.fetchone()[0] == good_code
