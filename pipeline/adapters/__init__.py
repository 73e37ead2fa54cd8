"""Adapters: the only places this package uses other libraries' private parts.

Each module here wraps one library (``zarr``, ``hydra``, ``xarray``,
``glibc``, ``submitit``).  It chooses, once at import, between a fast path through that
library's internals and a fallback through its public API, and says in its
docstring what the fast path buys (measured in ``benchmarks/README.md``) and
which upstream change would make it unnecessary.

Setting the environment variable :data:`ENV` to ``off`` forces every adapter
to its public-API fallback; CI runs the fast tests a second time that way.
"""

from __future__ import annotations

import os

ENV = "RATE_SWEEPS_ADAPTERS"
"""``off`` forces every adapter to its public-API fallback; anything else (or unset) lets
each use its fast path where the library allows it."""


def fast_paths_allowed() -> bool:
    """Whether adapters may take their fast paths (:data:`ENV` is not ``off``)."""
    return os.environ.get(ENV, "").strip().lower() != "off"
