"""Theory checks by name: one module each, registered in :data:`CHECKS`.

``analysis.check`` (or the network's first check) picks one; :func:`run_check`
hands it the dataset of a block, or of a store opened in a notebook, and the
``analysis.*`` settings it declares that it reads.  A check added by another
package (:mod:`pipeline.extensions`) registers its own in :data:`CHECKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from analysis.checks import (
    autapse_pair,
    feedforward,
    gain_matrix,
    integrator,
    linear_modes,
    nonsymmetric,
    pair,
    runaway,
    saturating,
)
from analysis.checks.base import Check
from pipeline.registry import Registry

__all__ = ["CHECKS", "Check", "run_check"]

CHECKS: Registry[str, Check] = Registry(
    "check",
    Check,
    {
        "linear_modes": linear_modes.CHECK,
        "pair": pair.CHECK,
        "autapse_pair": autapse_pair.CHECK,
        "integrator": integrator.CHECK,
        "runaway": runaway.CHECK,
        "gain_matrix": gain_matrix.CHECK,
        "feedforward": feedforward.CHECK,
        "nonsymmetric": nonsymmetric.CHECK,
        "saturating": saturating.CHECK,
    },
)
"""Every check by name; another package adds one with ``CHECKS.register(name, Check(...))``.
The scenario checks build on :func:`linear_modes.linear_modes` where their network's
modes are autapses, and add what their scenario shows."""


def run_check(name: str, ds: xr.Dataset, settings: Mapping[str, Any]) -> xr.Dataset:
    """The check ``name`` on ``ds``, given the ``analysis.*`` ``settings`` it reads.

    Its overall verdict records the check's name; a check whose result does
    not verdict the quantities it declares is refused.  Floating-point
    overflow and invalid operations raise no warning here: every value they
    spoil is non-finite, and its verdict gives the reason
    (:func:`analysis.checks.verdicts.verdict_codes`).
    """
    check = CHECKS[name]
    with np.errstate(all="ignore"):
        result = check.function(ds, **{key: settings[key] for key in check.reads})
    produced = tuple(result["check"].attrs["quantities"])
    if produced != check.quantities:
        raise ValueError(
            f"check {name!r} declares the quantities {check.quantities} but verdicts {produced}"
        )
    result["check"].attrs["check"] = name
    return result
