"""What a run will write, known before it touches the disk: layout, template, attributes.

A one-point probe of the sweep gives every variable's shape, type and
attributes; from it come the blocks (:func:`pipeline.store.layout.layout_for`),
the store's template and encodings, and its root attributes (the config that
shapes the results, its fingerprint, the code version).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import xarray as xr
import yaml

from pipeline.block import BlockSpec, simulate_block
from pipeline.config.schema import Config
from pipeline.grid import Grid
from pipeline.model.transfer import Transfer
from pipeline.records import provenance
from pipeline.store.layout import (
    PRODUCER,
    SCHEMA_VERSION,
    Layout,
    StoreTemplate,
    encoding,
    layout_for,
    template,
)

EXECUTION_ONLY = {
    ("store", "path"),
    ("store", "overwrite"),
    ("store", "lease_seconds"),
    ("store", "storage_options"),
    ("cluster",),
    ("catalog",),
    ("tags",),
    ("tracking",),
    ("report",),
    ("report_dir",),
}
"""Config keys that do not change the results, left out of the fingerprint."""


@dataclass(frozen=True)
class Plan:
    """Everything a run writes, known before it touches the disk."""

    spec: BlockSpec
    grid: Grid
    layout: Layout
    full: xr.Dataset
    encodings: dict[str, dict]
    attrs: dict[str, Any]
    execution: dict[str, Any]
    zarr_format: int = 3

    @property
    def template(self) -> StoreTemplate:
        """What the store holds before its first block."""
        return StoreTemplate(self.full, self.encodings, self.attrs, self.zarr_format)


def block_spec(config: Config) -> BlockSpec:
    """What every block of ``config``'s sweep computes, as small settings."""
    network, stimulus = config.network, config.stimulus
    return BlockSpec(
        network=network.kind,
        network_settings=network,
        transfer=Transfer(network.transfer, network.ceiling),
        onset=stimulus.onset,
        offset=stimulus.offset,
        amplitude=stimulus.amplitude,
        times=config.record.times(),
        solver=config.solver.method,
        solver_settings=dataclasses.asdict(config.solver),
        check=config.check_name,
        analysis=dataclasses.asdict(config.analysis),
        rate_dtype=config.store.rate_dtype,
    )


def recorded_config(config: Config) -> dict[str, Any]:
    """The config as plain data to record (store, catalog): ``store.storage_options`` may
    hold credentials, so only its keys are kept."""
    data = dataclasses.asdict(config)
    data["store"]["storage_options"] = sorted(data["store"]["storage_options"])
    return data


def split_config(config: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config as plain data: the part that shapes the results, and :data:`EXECUTION_ONLY`."""
    results = recorded_config(config)
    execution: dict[str, Any] = {}
    for key in sorted(EXECUTION_ONLY):
        parent, target = results, execution
        for part in key[:-1]:
            parent = parent[part]
            target = target.setdefault(part, {})
        target[key[-1]] = parent.pop(key[-1])
    return results, execution


def plan_run(config: Config) -> Plan:
    """Layout, template and root attributes of the store of ``config``, from a probe."""
    spec = block_spec(config)
    grid = Grid.from_config(config.sweep.grid)
    probe = simulate_block(spec, grid, tuple(slice(0, 1) for _ in grid.dims))
    layout = layout_for(grid, probe, config.store.chunk_mb, config.store.chunk_points)
    results, execution = split_config(config)
    code = provenance.code_version()
    attrs = {
        "producer": PRODUCER,
        "schema_version": SCHEMA_VERSION,
        "title": f"rate-network sweep {config.sweep.name!r}",
        "sweep": config.sweep.name,
        "network": config.network.kind,
        "config": yaml.safe_dump(results, sort_keys=False),
        "fingerprint": provenance.fingerprint(results, code),
        "code": code,
        "created": provenance.now(),
        "run_status": "incomplete",
        "history": [],
    }
    full = template(probe, grid, layout)
    store = config.store
    encodings = encoding(full, layout, store.compression_level, store.compressor, store.zarr_format)
    return Plan(spec, grid, layout, full, encodings, attrs, execution, store.zarr_format)
