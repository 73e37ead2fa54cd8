"""``python -m pipeline.catalog list|show ID``, and ``runs()`` for notebooks.

The command line and notebook face of the run catalog,
:mod:`pipeline.records.catalog`, where it is kept.
"""

from __future__ import annotations

import sys

from pipeline.records.catalog import main, run, runs

__all__ = ["main", "run", "runs"]

if __name__ == "__main__":
    sys.exit(main())
