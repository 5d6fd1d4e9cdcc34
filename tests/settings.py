"""Settings for the test suite: the project's settings with debug on by default.

GeoGrid's own default is debug off (production); the tests import the same module, so they
only set the environment variable first. Tests of production behaviour start a separate process
(gunicorn, manage.py) with GEOGRID_DEBUG=0.
"""

import os

os.environ.setdefault("GEOGRID_DEBUG", "1")

from geogrid.settings import *  # noqa: E402,F403
