"""Compare the sweep stores of two directories, to show that a change of code kept the results.

Usage: ``python scripts/compare_stores.py BEFORE_DIR AFTER_DIR``, after writing the eleven
default scenario stores with each tree (from that tree's checkout)::

    for s in $(ls conf/sweep | sed 's/.yaml//'); do
        .venv/bin/python -m pipeline +sweep=$s store.path=DIR/$s.zarr
    done

For every ``*.zarr`` in BEFORE_DIR, the store of the same name in AFTER_DIR must have:

- the same data variables and the same coordinates;
- for each of them, the same dims, dtype and attributes, and values equal bit for bit
  (NaN equal to NaN);
- the same encoding where it shapes the files: chunks, preferred chunks and dtype;
- the same root attributes, but for ``code``, ``fingerprint``, ``created`` and ``history``.
  These record the commit and time of the run (the fingerprint hashes the commit with the
  config), so they change with any commit, even one that keeps every result.  The root
  attribute ``config`` (the resolved config as YAML) is compared parsed, key by key.

One line per store, ``NAME: same`` or ``NAME: DIFFERENT`` followed by one indented line per
difference.  A store missing in AFTER_DIR is a difference.  Exit code 0 when every store is
the same, 1 otherwise.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

RUN_ATTRS = frozenset({"code", "fingerprint", "created", "history"})
"""Root attributes that record the commit and time of the run, not its results."""

ENCODING_KEYS = ("chunks", "preferred_chunks", "dtype")
"""Encoding entries that decide how a variable is written."""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    before, after = Path(argv[1]), Path(argv[2])
    stores = sorted(before.glob("*.zarr"))
    if not stores:
        print(f"no *.zarr in {before}", file=sys.stderr)
        return 1
    all_same = True
    for store in stores:
        differences = compare_store(store, after / store.name)
        all_same = all_same and not differences
        print(f"{store.stem}: {'DIFFERENT' if differences else 'same'}")
        for difference in differences:
            print(f"  {difference}")
    return 0 if all_same else 1


def compare_store(before: Path, after: Path) -> list[str]:
    if not after.exists():
        return [f"missing: {after}"]
    with xr.open_zarr(before, chunks=None) as old, xr.open_zarr(after, chunks=None) as new:
        differences = compare_names("data variables", set(old.data_vars), set(new.data_vars))
        differences += compare_names("coordinates", set(old.coords), set(new.coords))
        for name in sorted(set(old.variables) & set(new.variables)):
            differences += compare_variable(name, old[name], new[name])
        differences += compare_root_attrs(old.attrs, new.attrs)
    return differences


def compare_names(kind: str, old: set[str], new: set[str]) -> list[str]:
    differences = []
    if old - new:
        differences.append(f"{kind} only in before: {', '.join(sorted(old - new))}")
    if new - old:
        differences.append(f"{kind} only in after: {', '.join(sorted(new - old))}")
    return differences


def compare_variable(name: str, old: xr.DataArray, new: xr.DataArray) -> list[str]:
    differences = []
    if old.dims != new.dims:
        differences.append(f"{name}: dims {old.dims} != {new.dims}")
    if old.dtype != new.dtype:
        differences.append(f"{name}: dtype {old.dtype} != {new.dtype}")
    values = describe_values(old.values, new.values)
    if values:
        differences.append(f"{name}: {values}")
    for key in ENCODING_KEYS:
        if not same(old.encoding.get(key), new.encoding.get(key)):
            old_value, new_value = old.encoding.get(key), new.encoding.get(key)
            differences.append(f"{name}: encoding {key} {old_value!r} != {new_value!r}")
    differences += [f"{name}: {line}" for line in compare_attrs(old.attrs, new.attrs)]
    return differences


def describe_values(old: np.ndarray, new: np.ndarray) -> str | None:
    """None when equal bit for bit (NaN equal to NaN); else where and by how much they differ."""
    if old.shape != new.shape:
        return f"shape {old.shape} != {new.shape}"
    nan_aware = old.dtype.kind in "fc" and new.dtype.kind in "fc"
    if np.array_equal(old, new, equal_nan=nan_aware):
        return None
    equal = old == new
    if nan_aware:
        equal |= np.isnan(old) & np.isnan(new)
    description = f"values differ at {np.count_nonzero(~equal)} of {old.size} elements"
    if old.dtype.kind in "biufc" and new.dtype.kind in "biufc":
        description += f", max abs diff {max_abs_diff(old[~equal], new[~equal])}"
    return description


def max_abs_diff(old: np.ndarray, new: np.ndarray) -> float:
    """The largest |old - new| over elements where it is a number (NaN where none is)."""
    precision = np.result_type(old, new, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(old.astype(precision) - new.astype(precision))
    diff = diff[~np.isnan(diff)]
    return float(diff.max()) if diff.size else math.nan


def compare_root_attrs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    skipped = RUN_ATTRS | {"config"}
    differences = compare_attrs(
        {key: value for key, value in old.items() if key not in skipped},
        {key: value for key, value in new.items() if key not in skipped},
    )
    return [f"root {line}" for line in differences] + compare_config(
        old.get("config"), new.get("config")
    )


def compare_attrs(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    differences = [f"attr {key!r} only in before" for key in sorted(old.keys() - new.keys())]
    differences += [f"attr {key!r} only in after" for key in sorted(new.keys() - old.keys())]
    for key in sorted(old.keys() & new.keys()):
        if not same(old[key], new[key]):
            differences.append(f"attr {key!r}: {old[key]!r} != {new[key]!r}")
    return differences


def compare_config(old: str | None, new: str | None) -> list[str]:
    """Differences of the resolved configs, one per dotted key."""
    old_leaves = flatten(yaml.safe_load(old or "{}"), "config")
    new_leaves = flatten(yaml.safe_load(new or "{}"), "config")
    old_keys, new_keys = old_leaves.keys(), new_leaves.keys()
    differences = [f"{key}: only in before ({old_leaves[key]!r})" for key in old_keys - new_keys]
    differences += [f"{key}: only in after ({new_leaves[key]!r})" for key in new_keys - old_keys]
    for key in old_keys & new_keys:
        if not same(old_leaves[key], new_leaves[key]):
            differences.append(f"{key}: {old_leaves[key]!r} != {new_leaves[key]!r}")
    return sorted(differences)


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """Leaves of nested mappings and lists, keyed ``a.b[2].c``."""
    if isinstance(value, dict):
        items = [(f"{prefix}.{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{prefix}[{index}]", item) for index, item in enumerate(value)]
    else:
        return {prefix: value}
    return {key: leaf for path, item in items for key, leaf in flatten(item, path).items()}


def same(old: Any, new: Any) -> bool:
    """Equal attribute values: containers element-wise, scalars of one type, NaN equal to NaN."""
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return len(old) == len(new) and all(map(same, old, new))
    if isinstance(old, np.ndarray) or isinstance(new, np.ndarray):
        return describe_values(np.asarray(old), np.asarray(new)) is None
    if type(old) is not type(new):
        return False
    return bool(old == new) or (isinstance(old, float) and math.isnan(old) and math.isnan(new))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
