"""Scenarios from other packages, found through the ``rate_sweeps.scenarios`` entry points.

A package adds a network kind, a theory check, a solver or a scenario's
figures by registering it in :data:`pipeline.model.networks.NETWORKS`,
:data:`analysis.checks.CHECKS`, :data:`pipeline.model.solvers.SOLVERS` or
:data:`analysis.report.SCENARIO_FIGURES` (``NETWORKS.register(name, kind)``:
a registry refuses a name that is taken) when its module is imported, and
names that module as an entry point of the group :data:`GROUP` in its
``pyproject.toml``::

    [project.entry-points."rate_sweeps.scenarios"]
    toy = "toy_scenario"

Its configs (``conf/sweep/toy.yaml``, ``conf/network/toy.yaml``) reach Hydra
through ``hydra.searchpath``.  The pipeline imports every such module once
per process: before it composes a config, and in every worker before it
computes a block (a worker process starts with the built-in registries only).
"""

from __future__ import annotations

import functools
import importlib.metadata

GROUP = "rate_sweeps.scenarios"
"""The entry-point group whose modules register scenarios."""


@functools.cache
def load_extensions() -> tuple[str, ...]:
    """Import the module of every entry point of :data:`GROUP`; their names, once per process."""
    loaded = []
    for entry in importlib.metadata.entry_points(group=GROUP):
        entry.load()
        loaded.append(entry.name)
    return tuple(loaded)
