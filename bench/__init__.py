"""Benchmarks (`make bench`, i.e. `python -m bench`); never part of `make test`.

Importing the package sets Django up, so every benchmark module can use the ORM and the raw
connection directly.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geogrid.settings")
django.setup()
