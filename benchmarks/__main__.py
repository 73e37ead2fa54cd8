"""Measure the figures of the performance issues in one run, each beside its target.

    python -m benchmarks            # the figures as the README quotes them (a few minutes)
    python -m benchmarks --quick    # every figure on small sweeps: exits 0 if each can be measured

Stores go to a temporary directory (``--workdir`` to choose where), removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import cluster, end_to_end, kernel, reanalysis
from pipeline.run import startup


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is: points of the kernel batch and of each sweep."""

    kernel_points: int
    ivp_points: int
    tau_1x: int  # the 1x sweep has 1000 points per tau value
    side_memory: int  # the memory sweeps have side**3 and (1.59 side)**3 (4x) points
    lam_workers: int  # the workers sweep has 400 points per lam value
    lam_solver: int  # the solver sweeps of figure 11 too
    repeat_cluster: int  # best of this many runs for figure 9
    repeat_report: int = 5  # best of this many runs, with and without the report, for figure 10
    lost_blocks: int = 100  # blocks of the run that loses half its workers, figure 12


FULL = Sizes(
    kernel_points=2000,
    ivp_points=20,
    tau_1x=20,
    side_memory=100,
    lam_workers=160,
    lam_solver=40,
    repeat_cluster=2,
)
QUICK = Sizes(
    kernel_points=200,
    ivp_points=3,
    tau_1x=2,
    side_memory=20,
    lam_workers=2,
    lam_solver=2,
    repeat_cluster=1,
    repeat_report=1,
    lost_blocks=40,
)


@dataclass(frozen=True)
class Figure:
    label: str
    shown: str
    target: str
    met: bool | None
    """None: a figure reported without a target."""


def measure(sizes: Sizes, workdir: Path) -> list[Figure]:
    # The settings of every process a run starts (allocator, xarray), here too: figures 1 and 2
    # time the kernel as it runs in a worker, and figure 3's to_zarr gets the same.
    startup.prepare_process()
    print("1, 2: the exact solver on pair networks, 1000 samples ...", flush=True)
    ivp = kernel.versus_solve_ivp(sizes.kernel_points, sizes.ivp_points)
    copy = kernel.versus_copy(sizes.kernel_points)
    print(f"   kernel {ivp['kernel_points_per_s']:.0f} points/s; solve_ivp loop "
          f"{ivp['ivp_points_per_s']:.1f} points/s (rtol 1e-9), "
          f"{ivp['loose_ivp_points_per_s']:.1f} points/s (rtol 1e-7: {ivp['loose_speedup']:.0f}x, "
          f"difference {ivp['loose_relative_difference']:.1e})\n"
          f"   kernel {copy['kernel_mb_per_s']:.0f} MB/s, np.copy {copy['copy_mb_per_s']:.0f} MB/s "
          f"of a {copy['output_mb']:.0f} MB output")  # fmt: skip

    print("3, 4, 5: python -m pipeline, pair networks, 1000 samples, 1x and 10x ...", flush=True)
    one = end_to_end.cli_run(end_to_end.pair_1000(sizes.tau_1x), workdir, "1x", repeat=2)
    shutil.rmtree(one.store)
    ten = end_to_end.cli_run(end_to_end.pair_1000(10 * sizes.tau_1x), workdir, "10x", repeat=3)
    plain = end_to_end.versus_to_zarr(ten, workdir, repeat=3)
    print(f"10: python -m analysis on the {ten.points}-point store, and reading its arrays ...",
          flush=True)  # fmt: skip
    again = reanalysis.reanalysis(ten, workdir, min(2, sizes.repeat_report))
    print(f"   {again['analysis_seconds']:.1f} s python -m analysis, "
          f"{again['read_seconds']:.1f} s reading the arrays it uses")  # fmt: skip
    shutil.rmtree(ten.store)
    reported = end_to_end.cli_run(
        end_to_end.pair_1000(10 * sizes.tau_1x), workdir, "10x-report", report=True
    )
    shutil.rmtree(reported.store)
    shutil.rmtree(reported.store.with_suffix(".report"))
    bound = end_to_end.cli_run(
        end_to_end.pair_1000(10 * sizes.tau_1x), workdir, "bound", repeat=2, compute=False
    )
    shutil.rmtree(bound.store)
    ceiling = plain["to_zarr_seconds"] / bound.seconds
    print(f"   {one.points} points in {one.seconds:.1f} s; {ten.points} points in "
          f"{ten.seconds:.1f} s; to_zarr of the 10x rate array {plain['to_zarr_seconds']:.1f} s "
          f"until on disk (fsync of every file; {plain['cached_seconds']:.1f} s in the page "
          "cache)\n"
          f"   the 10x run without its compute (every block a copy of the first) "
          f"{bound.seconds:.1f} s: figure 3 at most {ceiling:.2f}\n"
          f"   (these runs with report=false; the 10x run with its report "
          f"{reported.seconds:.1f} s)")  # fmt: skip

    print("3, 4 with the adapters off (RATE_SWEEPS_ADAPTERS=off): the 10x run again ...",
          flush=True)  # fmt: skip
    ten_off = end_to_end.cli_run(
        end_to_end.pair_1000(10 * sizes.tau_1x), workdir, "10x-off", repeat=3,
        env=end_to_end.ADAPTERS_OFF,
    )  # fmt: skip
    shutil.rmtree(ten_off.store)
    print(f"   {ten_off.points} points in {ten_off.seconds:.1f} s "
          f"(adapters on: {ten.seconds:.1f} s)")  # fmt: skip

    print("6: peak memory of python -m pipeline, pair networks, 200 samples, 1x and 4x ...",
          flush=True)  # fmt: skip
    big = end_to_end.cli_run(end_to_end.pair_200(sizes.side_memory), workdir, "memory")
    shutil.rmtree(big.store)
    bigger = end_to_end.cli_run(
        end_to_end.pair_200(round(1.59 * sizes.side_memory)), workdir, "memory4x"
    )
    shutil.rmtree(bigger.store)
    growth = bigger.peak_rss_bytes / big.peak_rss_bytes
    for run in (big, bigger):
        print(f"   {run.points} points in {run.seconds:.1f} s ({run.points / run.seconds:.0f} "
              f"points/s), peak RSS {run.peak_rss_bytes / 1e9:.2f} GB")  # fmt: skip

    print("7: run_sweep with 1 and 2 Dask worker processes, saturating autapses (rk4) ...",
          flush=True)  # fmt: skip
    workers = end_to_end.workers_speedup(end_to_end.saturating(sizes.lam_workers), workdir)
    print(f"   {workers['one']:.1f} s with 1 worker, {workers['two']:.1f} s with 2")

    print("11: the saturating sweep by dopri5 and by rk4 (max_step 1e-4), 1 ms and 10 ms "
          "recording ...", flush=True)  # fmt: skip
    speed = end_to_end.solver_speed(sizes.lam_solver, workdir)
    rates = {name: f"{speed[f'{name}_points_per_cpu_s']:.0f} "
             f"({speed[f'{name}_points_per_s']:.0f} wall)" for name in
             ("dopri5", "rk4", "dopri5_coarse", "rk4_coarse")}  # fmt: skip
    print(f"   {400 * sizes.lam_solver} points, points per CPU second (per wall second): "
          f"dopri5 {rates['dopri5']}, rk4 {rates['rk4']}; recorded every 10 ms: "
          f"dopri5 {rates['dopri5_coarse']}, rk4 {rates['rk4_coarse']}")  # fmt: skip

    print("8: the fixed cost: python -m pipeline +sweep=autapse report=false "
          "vs importing its libraries ...", flush=True)  # fmt: skip
    fixed = end_to_end.fixed_cost(workdir)
    fixed_off = end_to_end.fixed_cost(workdir, env=end_to_end.ADAPTERS_OFF)
    print(f"   {fixed['run_seconds']:.2f} s the run ({fixed_off['run_seconds']:.2f} s with the "
          f"adapters off), {fixed['imports_seconds']:.2f} s "
          f"python -c \"{end_to_end.IMPORTS}\"")  # fmt: skip

    print("10: python -m pipeline +sweep=autapse with the report and with report=false ...",
          flush=True)  # fmt: skip
    with_report = end_to_end.cli_run(
        ["+sweep=autapse"], workdir, "report", sizes.repeat_report, report=True
    )
    without = end_to_end.cli_run(["+sweep=autapse"], workdir, "no_report", sizes.repeat_report)
    shutil.rmtree(with_report.store)
    shutil.rmtree(with_report.store.with_suffix(".report"))
    shutil.rmtree(without.store)
    report_cost = with_report.seconds - without.seconds
    print(f"   {with_report.seconds:.2f} s with the report, {without.seconds:.2f} s without")

    print("9: the sweep of 7 on 1 and 2 one-core SLURM worker jobs ...", flush=True)
    with cluster.slurm() as missing:
        if missing is None:
            jobs = cluster.jobs_speedup(
                end_to_end.saturating(sizes.lam_workers), workdir, sizes.repeat_cluster
            )
            command = cluster.command_speedup(
                end_to_end.saturating(sizes.lam_workers), workdir, sizes.repeat_cluster
            )
            first = cluster.first_block(workdir, sizes.repeat_cluster + 1)
            print(f"   run_sweep on the jobs' workers: {jobs['one']:.1f} s with 1 job, "
                  f"{jobs['two']:.1f} s with 2; the whole command (cluster=slurm): "
                  f"{command['one']:.1f} s and {command['two']:.1f} s; "
                  f"first block on disk {first:.1f} s after the command")  # fmt: skip
            on_slurm = [
                Figure("9 2 SLURM worker jobs vs 1, speed", f"{jobs['ratio']:.2f}x",
                       ">= 1.6x", jobs["ratio"] >= 1.6),
                Figure("  first block, from the command", f"{first:.1f} s", "(reported)", None),
                Figure("  the whole command, 2 jobs vs 1", f"{command['ratio']:.2f}x",
                       "(reported)", None),
            ]  # fmt: skip
        else:
            print(f"   not measured: {missing}")
            on_slurm = [
                Figure("9 2 SLURM worker jobs vs 1, speed", "no SLURM", ">= 1.6x", False),
                Figure("  first block, from the command", "no SLURM", "(reported)", None),
                Figure("  the whole command, 2 jobs vs 1", "no SLURM", "(reported)", None),
            ]

    print("12: a run on 2 one-thread workers that loses one of them mid-run ...", flush=True)
    lost = cluster.lost_workers(end_to_end.many_blocks(sizes.lost_blocks), workdir,
                                sizes.lost_blocks)  # fmt: skip
    print(f"   {lost['solves']} solves of {sizes.lost_blocks} blocks, {lost['lost']} worker lost")

    throughput = ten.points / ten.seconds
    off = "(adapters off)"
    return [
        Figure("1 kernel vs solve_ivp loop, speed", f"{ivp['speedup']:.0f}x",
               ">= 1000x", ivp["speedup"] >= 1000),
        Figure("  largest relative difference",
               f"{ivp['relative_difference']:.1e}", "<= 1e-6", ivp["relative_difference"] <= 1e-6),
        Figure("2 kernel vs np.copy of its output", f"{copy['ratio']:.2f}",
               ">= 0.1", copy["ratio"] >= 0.1),
        Figure("3 end to end vs durable to_zarr", f"{plain['ratio']:.2f}",
               ">= 0.5", plain["ratio"] >= 0.5),
        Figure("  adapters off", f"{plain['to_zarr_seconds'] / ten_off.seconds:.2f}", off, None),
        Figure(f"4 end-to-end points/s ({ten.points} points)", f"{throughput:.0f}",
               ">= 20000", throughput >= 2e4),
        Figure("  adapters off", f"{ten_off.points / ten_off.seconds:.0f}", off, None),
        Figure("5 time for 10x the points / 1x",
               f"{ten.seconds / one.seconds:.1f}", "<= 11", ten.seconds / one.seconds <= 11),
        Figure(f"6 peak RSS, {big.points} points",
               f"{big.peak_rss_bytes / 1e9:.2f} GB", "< 0.6 GB", big.peak_rss_bytes < 0.6e9),
        Figure(f"  peak RSS, {bigger.points} points / {big.points}",
               f"{growth:.2f}", "<= 1.15", growth <= 1.15),
        Figure(f"  points/s ({bigger.points} points)", f"{bigger.points / bigger.seconds:.0f}",
               ">= 140000", bigger.points / bigger.seconds >= 1.4e5),
        Figure("7 2 workers vs 1, speed", f"{workers['ratio']:.2f}x",
               ">= 1.6x", workers["ratio"] >= 1.6),
        Figure("8 autapse run / importing its libraries", f"{fixed['ratio']:.2f}",
               "<= 1.5", fixed["ratio"] <= 1.5),
        Figure("  adapters off", f"{fixed_off['run_seconds'] / fixed['imports_seconds']:.2f}",
               off, None),
        *on_slurm,
        Figure(f"10 python -m analysis ({ten.points} points) / read",
               f"{again['ratio']:.2f}", "<= 3", again["ratio"] <= 3),
        Figure("  report's wall time, default autapse run", f"{report_cost:.2f} s",
               "<= 1 s", report_cost <= 1.0),
        Figure("11 saturating sweep, dopri5 / rk4 points/s", f"{speed['ratio']:.2f}",
               ">= 0.8", speed["ratio"] >= 0.8),
        Figure("  recorded every 10 ms", f"{speed['coarse_ratio']:.2f}", "(reported)", None),
        Figure("12 blocks solved / blocks, half the workers lost", f"{lost['ratio']:.3f}",
               f"<= {lost['bound']:.3f}", lost["ratio"] <= lost["bound"]),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sweeps: checks that it runs")
    parser.add_argument("--workdir", type=Path, default=None, help="where the stores go")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="rate-sweeps-benchmark-", dir=args.workdir))
    try:
        figures = measure(QUICK if args.quick else FULL, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'figure':<44} {'measured':>12}   {'target':<10}")
    for figure in figures:
        verdict = {True: "met", False: "NOT MET", None: ""}[figure.met]
        print(f"{figure.label:<44} {figure.shown:>12}   {figure.target:<10} {verdict}")
    if args.quick:
        print("(--quick: every figure was measured; only a full run judges the targets)")
        return 0
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
