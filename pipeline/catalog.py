"""``python -m pipeline.catalog list|show|compare|tag|note``, and ``runs()`` for notebooks.

The command line (:mod:`pipeline.records.catalog_cli`) and notebook face of
the run catalog, :mod:`pipeline.records.catalog`, where it is kept.
"""

from __future__ import annotations

import sys

from pipeline.records.catalog import run, runs
from pipeline.records.catalog_cli import main

__all__ = ["main", "run", "runs"]

if __name__ == "__main__":
    sys.exit(main())
