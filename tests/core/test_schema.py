"""The API against its own OpenAPI schema (Schemathesis on the WSGI app, issue 10): for every
documented operation, anonymous and as an admin, no answer is a 500 and every answer matches
the schema documented for its status. Seeded and derandomised with few examples per operation,
so the run is the same every time and costs about a minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from geogrid.accounts.services import issue_token
from geogrid.wsgi import application
from tests.cases.conftest import GARBAGE, case_taxonomy, report  # noqa: F401  (fixtures)

CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = hypothesis_settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# Loaded when the module is collected: generating the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Called through WSGI, each request would close the database connection at its end (and
    # with it the test's transaction); Django's own test client keeps it the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(city, case_taxonomy, report, admin_user, settings, tmp_path):  # noqa: F811
    """A small city with a case, and media written to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path
    report(50, 150, service_code=GARBAGE)
    return issue_token(user=admin_user)[0]


@schema.parametrize()
@EXAMPLES
def test_api_answers_anonymous_and_admin_without_500_and_true_to_its_schema(case, world):
    # Both personas in one test: the city is built once per operation, not twice. Bodies
    # uncompressed: the WSGI client would hand gzip bytes to the schema check as they are
    # (compression has its own tests, tests/core/test_middleware.py).
    plain = {"Accept-Encoding": "identity"}
    case.call_and_validate(headers=plain, checks=CHECKS)
    case.call_and_validate(headers={**plain, "Authorization": f"Token {world}"}, checks=CHECKS)
