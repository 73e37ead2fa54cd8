"""``python -m pipeline.verify PATH [--digest]``: check a sweep store on disk.

The command line of :mod:`pipeline.store.verify`, where the checks live.
Exit code: 0 sound and complete, 1 sound but incomplete, 2 damaged or not a
store of this pipeline.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.store.kinds import open_sweep_store


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.verify PATH``: print the report and return its exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.verify",
        description="Check a sweep store: 0 sound and complete, 1 incomplete, 2 damaged.",
    )
    parser.add_argument("path", help="a folder, or an s3:// URL (credentials from AWS_*)")
    parser.add_argument(
        "--digest", action="store_true", help="also print the content digest (see docs)"
    )
    args = parser.parse_args(argv)
    try:
        store = open_sweep_store(args.path)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        report = store.inspect()
    except ValueError as err:
        problem = err if store.exists() else f"{args.path} does not exist or is empty"
        print(f"error: {problem}", file=sys.stderr)
        return 2
    writer = store.lease_holder()
    if writer is not None:
        print(
            f"note: process {writer['pid']} on host {writer['host']} holds the store's lease: "
            "it is being written, so counts may change and temporary files may be in flight"
        )
    for line in report.lines():
        print(line)
    if args.digest:
        print(f"digest: {store.digest()}")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
