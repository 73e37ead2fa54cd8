"""A nested config as flat dotted keys: what the catalog queries and a refusal lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"network": {"transfer": "tanh"}}`` as ``{"network.transfer": "tanh"}`` (lists and
    other leaves kept whole)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
