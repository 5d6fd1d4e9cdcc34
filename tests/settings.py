"""Settings for the test suite: the project's settings with debug on by default.

GeoGrid's own default is debug off (production); the tests import the same module, so they
only set the environment variable first. Tests of production behaviour start a separate process
(gunicorn, manage.py) with GEOGRID_DEBUG=0.
"""

import os

os.environ.setdefault("GEOGRID_DEBUG", "1")
# The suite reads and writes inside transactions a replica never sees; the replica tests start
# their own primary and replica (tests/core/test_replica.py). A DATABASE_REPLICA_URL exported
# for the development server must not send the suite's reads there.
os.environ.pop("DATABASE_REPLICA_URL", None)

from geogrid.settings import *  # noqa: E402,F403
