"""``python -m pipeline.verify PATH [--digest]``: check a sweep store on disk.

The command line of :mod:`pipeline.store.verify`, where the checks live.
"""

from __future__ import annotations

import sys

from pipeline.store.verify import main

if __name__ == "__main__":
    sys.exit(main())
