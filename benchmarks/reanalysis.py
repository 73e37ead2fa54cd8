"""Figure 10: ``python -m analysis STORE`` against the time to read the arrays it uses.

Both are subprocesses on the same store (interpreter start and imports
included in both), best of ``repeat`` each, alternating.  The read opens
the store as the re-check does and computes every variable the check takes
as input (every variable of the store that its results do not replace:
``rate``, ``h``, the network ...), each reduced to a sum so that nothing
stays in memory.  A re-analysis that checks each chunk once and draws the
report from those results costs a small multiple of that read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.end_to_end import Run, quiet_disk

READ = """
import sys
import dask
import xarray as xr
from analysis.checks import run_check
from analysis.recheck import check_settings
ds = xr.open_zarr(sys.argv[1])
result = run_check(ds["check"].attrs["check"], ds, check_settings(ds))  # a graph: its inputs
names = [name for name in ds.data_vars if name not in result.data_vars]
dask.compute(*[ds[n].data.sum() if ds[n].dtype.kind in "biufc" else ds[n].data for n in names])
"""
"""Reads every variable of the store ``sys.argv[1]`` that its check reads."""


def reanalysis(run: Run, workdir: Path, repeat: int = 2) -> dict[str, float]:
    """Figure 10: the wall time of ``python -m analysis`` on ``run``'s store over that of
    reading the arrays it uses (:data:`READ`), best of ``repeat`` each."""
    out = workdir / "reanalysis.report"
    commands = {
        "analysis": [sys.executable, "-m", "analysis", str(run.store), "--out", str(out)],
        "read": [sys.executable, "-c", READ, str(run.store)],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            quiet_disk()
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
            seconds[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    shutil.rmtree(out, ignore_errors=True)
    analysis, read = min(seconds["analysis"]), min(seconds["read"])
    return {"analysis_seconds": analysis, "read_seconds": read, "ratio": analysis / read}
