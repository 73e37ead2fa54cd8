"""Entry point: ``python -m pipeline +sweep=NAME [overrides]``.

Hydra composes the config from ``conf/``; it is converted and validated once
here, the sweep runs, and a summary of the store is printed.  The exit code is
0 when the store is complete and every measurable quantity agrees with theory,
1 when a check disagrees or points failed, and 2 when the config or the store
path is refused (before anything is written).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
import xarray as xr
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from analysis.summary import summarize
from pipeline.config import ConfigError, load_config, register_resolvers, store_schemas
from pipeline.execute import run_sweep
from pipeline.store import StoreError

log = logging.getLogger("pipeline")

register_resolvers()
store_schemas()


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        config = load_config(cfg)
        result = run_sweep(config)
    except (ConfigError, StoreError, MissingMandatoryValue) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    # No Dask: the summary reads whole variables; a task per chunk only adds overhead.
    with xr.open_zarr(result.path, chunks=None) as ds:
        summary = summarize(ds)
    print(f"store: {Path(result.path).resolve()} ({ds.attrs['run_status']}, {result.opened})")
    for line in summary.lines:
        print(line)
    for failure in result.failures:
        print(f"failed: {failure}", file=sys.stderr)
    if not summary.passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
