"""The case fixtures (report, operator, …) for the command-center tests."""

from tests.cases.conftest import (  # noqa: F401  (pytest fixtures)
    case_taxonomy,
    handler,
    operator,
    report,
    sanitation,
)
