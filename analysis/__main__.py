"""``python -m analysis [report] STORE``: check a store again and write its report again.

The store's theory check is re-run by this code on the stored trajectories
(:mod:`analysis.recheck`; nothing is simulated), its summary printed, and
its report (:mod:`analysis.report`) written to ``<store>.report/`` (or
``--out DIR``).  Exit code as ``python -m pipeline``'s: 0 PASS, 1 FAIL,
4 INCONCLUSIVE; 2 for a path that is not a store, or a store whose schema
this code cannot read (nothing is written then).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import xarray as xr

from analysis.recheck import UnreadableStore, check_readable, recheck_once
from analysis.summary import summarize
from pipeline.exits import REFUSED, VERDICT_CODES
from pipeline.store.status import status_counts

ARITHMETIC = r"(divide by zero|overflow|invalid value) encountered"
"""numpy's warnings of a floating-point result that is not finite."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:  # the subcommand is optional: report is the only one
        argv = argv[1:]
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Check a sweep store again with this code and write its report again.",
    )
    parser.add_argument("store", type=Path, help="a store written by python -m pipeline")
    parser.add_argument("--out", type=Path, default=None, help="default: <store>.report/")
    args = parser.parse_args(argv)
    try:
        ds = xr.open_zarr(args.store)
    except (FileNotFoundError, ValueError, KeyError, OSError) as err:
        print(f"error: {args.store} cannot be opened as a Zarr store: {err}", file=sys.stderr)
        return REFUSED
    with ds:
        try:
            check_readable(ds, str(args.store))
        except UnreadableStore as err:
            print(f"error: {err}", file=sys.stderr)
            return REFUSED
        with warnings.catch_warnings():
            # NaN and inf are results here (a runaway's overflow, a singular I - M) that
            # the verdicts name; a run's blocks compute them under np.errstate, which does
            # not reach the threads that compute a lazy check.
            warnings.filterwarnings("ignore", ARITHMETIC, RuntimeWarning)
            with recheck_once(ds) as checked:
                summary = summarize(checked, status_counts(ds["status"].values))
                from analysis.report import write_report  # matplotlib: once the store is readable

                page = write_report(checked, args.store, summary, args.out)
    for line in summary.lines:
        print(line)
    print(f"report: {page.resolve()}")
    return VERDICT_CODES[summary.verdict]


if __name__ == "__main__":
    sys.exit(main())
