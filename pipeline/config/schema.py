"""Typed configuration: the schemas that every YAML file in ``conf/`` extends.

Hydra composes ``conf/config.yaml`` with the chosen ``+sweep=NAME`` experiment
and command-line overrides into a ``DictConfig`` that OmegaConf type-checks
against these dataclasses (a wrong type or an unknown key fails there, with
the key named; a key added with ``+`` passes there and is refused by
:func:`pipeline.config.compose.check_known_keys`).  ``load_config`` then
turns it into plain dataclass objects once, at the entry point;
``__post_init__`` checks the values that types cannot (``tau > 0``, onset
before offset, ...).  Below ``__main__`` no function sees a ``DictConfig``.

The dataclasses are not ``frozen``: Hydra marks the nodes of frozen
dataclasses read-only, and then neither a sweep file nor the command line
could override them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from omegaconf import MISSING

from analysis.checks import CHECKS
from pipeline import grid
from pipeline.model import solvers
from pipeline.model.networks import NETWORKS
from pipeline.model.transfer import TRANSFERS
from pipeline.store.base import scheme_problem


class ConfigError(ValueError):
    """A configuration value that the pipeline refuses, with its key named."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_axis(key: str, name: str, values: Sequence[float]) -> None:
    """Refuse an axis that cannot be a dimension coordinate, naming ``key``."""
    if not values:
        raise ConfigError(f"{key} is empty: give at least one value, e.g. {key}=[1.0]")
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{key} must hold finite numbers, got {key}={list(values)}")
    unique, counts = np.unique(array, return_counts=True)
    if np.any(counts > 1):
        raise ConfigError(
            f"{key} has duplicate values {unique[counts > 1].tolist()}: "
            "each value of a dimension must be unique"
        )
    if name == "tau" and np.any(array <= 0):
        raise ConfigError(f"{key} must be > 0 s, got {key}={list(values)}")
    if name in grid.WHOLE_NUMBER_PARAMETERS and np.any((array < 0) | (array != np.round(array))):
        raise ConfigError(f"{key} must hold whole numbers >= 0, got {key}={list(values)}")


@dataclass
class SweepConfig:
    """What is swept: each ``grid`` entry becomes one dimension of the store."""

    name: str = MISSING
    """Names the store (``results/NAME.zarr``), the summary and the catalog's rows."""
    grid: dict[str, list[float]] = MISSING
    """Values of each swept parameter (``tau`` and the network's own, in their units); the product
    of the axes is the sweep, each axis a dimension of the store."""

    def __post_init__(self) -> None:
        if self.grid is MISSING or self.name is MISSING:
            return
        _require(bool(self.grid), "sweep.grid is empty: give at least sweep.grid.tau")
        for key, values in self.grid.items():
            check_axis(f"sweep.grid.{key}", key, values)


@dataclass
class NetworkConfig:
    """Which network is built for each point; subclasses add their own settings.

    ``transfer`` is the function ``f`` in ``tau dv/dt = -v + f(M v + h)``:
    linear, or saturating at ``+-ceiling`` (``tanh`` or ``clip``).
    """

    kind: str = MISSING
    """The network builder (:data:`pipeline.model.networks.NETWORKS`); set by ``network=KIND``."""
    transfer: str = "linear"
    """``f``: ``linear`` (solved exactly), or ``tanh``/``clip``, saturating at ``+-ceiling`` (needs
    ``solver=rk4``)."""
    ceiling: float = 1.0
    """Hz; where a saturating ``f`` levels off; read only by ``tanh`` and ``clip``."""

    def __post_init__(self) -> None:
        _require(
            self.transfer in TRANSFERS,
            f"network.transfer must be one of {list(TRANSFERS)}, "
            f"got network.transfer={self.transfer!r}",
        )
        _require(
            math.isfinite(self.ceiling) and self.ceiling > 0,
            f"network.ceiling must be a rate > 0 Hz, got network.ceiling={self.ceiling}",
        )


@dataclass
class AutapseNetwork(NetworkConfig):
    """One neuron that excites (lam > 0) or inhibits (lam < 0) itself: M = [[lam]]."""

    kind: str = "autapse"


@dataclass
class PairNetwork(NetworkConfig):
    """Two neurons with zero diagonal and symmetric coupling: M = [[0, w], [w, 0]]."""

    kind: str = "pair"


def check_square_matrix(key: str, rows: Any) -> list[list[float]]:
    """The weight matrix ``rows`` as floats; refuse one that is empty, ragged, not square,
    not numbers or not finite."""
    example = f"e.g. {key}=[[0.0,0.5],[0.5,0.0]]"
    _require(
        isinstance(rows, list) and all(isinstance(row, list) for row in rows),
        f"{key} must be a list of rows ({example}), got {key}={rows}",
    )
    n = len(rows)
    _require(n >= 1, f"{key} is empty: give an n x n matrix, {example}")
    shape = [len(row) for row in rows]
    _require(
        all(length == n for length in shape),
        f"{key} must be square (n x n), got {n} rows of lengths {shape}: {key}={rows}",
    )
    try:
        matrix = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must hold numbers, got {key}={rows}") from None
    _require(bool(np.all(np.isfinite(matrix))), f"{key} must hold finite numbers, got {key}={rows}")
    return matrix.tolist()


def check_vector(key: str, values: list[float], n: int, of: str) -> None:
    """Refuse a vector that does not have one finite entry per neuron, or is zero."""
    _require(
        len(values) == n,
        f"{key} must have {n} entries, one per neuron of {of} ({n} x {n}), "
        f"got {len(values)}: {key}={values}",
    )
    array = np.asarray(values, dtype=float)
    _require(
        bool(np.all(np.isfinite(array))) and bool(np.any(array != 0)),
        f"{key} must be finite and not all zero, got {key}={values}",
    )


@dataclass
class MatrixNetwork(NetworkConfig):
    """Any symmetric network given by its weights ``M`` and the direction of its input."""

    kind: str = "matrix"
    # Rows of numbers; typed loosely because OmegaConf refuses [[0,1],[1,0]] (ints) for a
    # list[list[float]], and __post_init__ checks it and makes it floats.
    weights: list[Any] = MISSING
    """Rows of ``M``, post-synaptic index first (``M[i][j]`` onto ``i`` from ``j``); symmetric."""
    input_direction: list[float] = MISSING
    """Direction of the step input, one entry per neuron (scaled to unit length)."""

    def __post_init__(self) -> None:
        if self.weights is MISSING or self.input_direction is MISSING:
            return
        self.weights = check_square_matrix("network.weights", self.weights)
        weights = np.asarray(self.weights)
        _require(
            np.array_equal(weights, weights.T),
            "network.weights must be symmetric (M[i][j] == M[j][i]), "
            f"got network.weights={self.weights}",
        )
        check_vector(
            "network.input_direction", self.input_direction, len(weights), "network.weights"
        )


@dataclass
class AutapsePairNetwork(NetworkConfig):
    """Two neurons with an autapse each and no coupling: M = diag(lam1, lam2)."""

    kind: str = "autapse_pair"


def _check_eigenvalues(key: str, values: list[float]) -> None:
    _require(bool(values), f"{key} is empty: give at least one eigenvalue")
    _require(
        all(math.isfinite(v) for v in values),
        f"{key} must hold finite numbers, got {key}={list(values)}",
    )


@dataclass
class SpectrumNetwork(NetworkConfig):
    """N neurons with chosen eigenvalues on seeded random orthogonal eigenvectors."""

    kind: str = "spectrum"
    eigenvalues: list[float] = field(
        default_factory=lambda: [-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 0.9]
    )
    random_inputs: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_eigenvalues("network.eigenvalues", self.eigenvalues)
        _require(
            self.random_inputs >= 0,
            f"network.random_inputs must be >= 0, got network.random_inputs={self.random_inputs}",
        )


@dataclass
class FeedforwardNetwork(NetworkConfig):
    """Input neurons reach a recurrent network (as ``spectrum``) through weights W."""

    kind: str = "feedforward"
    eigenvalues: list[float] = field(default_factory=lambda: [-1.0, -0.5, 0.0, 0.5, 0.8])
    inputs: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_eigenvalues("network.eigenvalues", self.eigenvalues)
        _require(
            1 <= self.inputs <= len(self.eigenvalues),
            f"network.inputs must lie in 1..{len(self.eigenvalues)} (the number of neurons), "
            f"so that W has independent columns, got network.inputs={self.inputs}",
        )


@dataclass
class NonsymmetricNetwork(NetworkConfig):
    """Two neurons with M = [[a, 1], [-b^2, a]]: eigenvalues a +- i b."""

    kind: str = "nonsymmetric"


@dataclass
class StimulusConfig:
    """A step input: zero, then ``amplitude`` along the network's input direction, then zero."""

    onset: float = 0.05
    """s; rest before the step, so every trajectory starts from 0."""
    offset: float = 0.25
    """s; end of the step: what follows shows decay, holding or growth."""
    amplitude: float = 1.0
    """Hz; size of the input ``h`` along the network's input direction."""

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.onset) and self.onset >= 0,
            f"stimulus.onset must be a time >= 0 s, got stimulus.onset={self.onset}",
        )
        _require(
            math.isfinite(self.offset) and self.offset > self.onset,
            f"stimulus.offset must come after stimulus.onset={self.onset}, "
            f"got stimulus.offset={self.offset}",
        )
        _require(
            math.isfinite(self.amplitude),
            f"stimulus.amplitude must be a finite number, got {self.amplitude}",
        )


@dataclass
class RecordConfig:
    """The time grid the user sees; the exact solver does not step on it."""

    duration: float = 0.5
    """s; the recording runs from 0 to this time, a whole number of ``dt``."""
    dt: float = 0.001
    """s; where the solution is sampled (not an integration step): fine enough for the
    fastest ``tau_eff`` the fits read."""

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.dt) and self.dt > 0,
            f"record.dt must be > 0 s, got record.dt={self.dt}",
        )
        _require(
            math.isfinite(self.duration) and self.duration > 0,
            f"record.duration must be > 0 s, got record.duration={self.duration}",
        )
        _require(
            _on_grid(self.duration, self.dt),
            f"record.duration={self.duration} must be a whole number of record.dt={self.dt}",
        )

    @property
    def n_samples(self) -> int:
        return round(self.duration / self.dt) + 1

    def times(self) -> np.ndarray:
        """Recording times 0, dt, ..., duration in seconds."""
        return np.linspace(0.0, self.duration, self.n_samples)


@dataclass
class SolverConfig:
    """How trajectories are computed (``conf/solver/``): the method and what it reads.

    ``divergence_factor`` applies to every method: a point is diverged once
    ``|v|`` passes it times the point's own scale (the length ``|h|`` of its
    largest input vector; for ``tanh`` and ``clip``, ``network.ceiling`` where that
    is larger; see :func:`pipeline.model.divergence.divergence_bound`).  ``max_step``,
    ``rtol`` and ``atol`` are read only by the methods that take steps (see
    :data:`pipeline.model.solvers.SOLVERS`): ``dopri5`` sizes its steps so that each
    one's local error is within ``atol + rtol |v|``; ``rk4`` takes fixed steps and
    only reports where its error estimate passes that.  A point whose estimate
    passes it stores ``solver_error > 1`` and its quantities are ``not_resolved``.
    """

    method: str = "exact"
    """``exact`` (eigendecomposition, linear only), ``dopri5`` (any ``f``, step-size
    control) or ``rk4`` (any ``f``, fixed steps); set by ``solver=NAME``."""
    divergence_factor: float = 1.0e6
    """A point whose ``|v|`` passes this many times its largest input ``|h|`` (a vector's
    length; or the ceiling of ``tanh`` and ``clip``) is marked diverged from then on."""
    max_step: float | None = 1.0e-4
    """s; the largest step (None: no bound but the recording step for ``rk4``, none for
    ``dopri5``). rk4's error shrinks as ``max_step^4``: keep it well below ``tau``."""
    rtol: float = 1.0e-6
    """Relative tolerance of each step's local error: ``|e| <= atol + rtol |v|``."""
    atol: float = 1.0e-9
    """Hz; absolute tolerance of each step's local error (what matters near ``v = 0``)."""

    def __post_init__(self) -> None:
        _require(
            self.method in solvers.SOLVERS,
            f"solver.method must be one of {sorted(solvers.SOLVERS)}, "
            f"got solver.method={self.method!r}",
        )
        _require(
            self.divergence_factor > 0,
            "solver.divergence_factor must be > 0, "
            f"got solver.divergence_factor={self.divergence_factor}",
        )
        _require(
            self.max_step is None or (math.isfinite(self.max_step) and self.max_step > 0),
            f"solver.max_step must be > 0 s (or null), got solver.max_step={self.max_step}",
        )
        # Below about 1e-13 the local error is round-off, which no step can bring lower.
        _require(
            1.0e-13 <= self.rtol < 1,
            f"solver.rtol must lie in [1e-13, 1), got solver.rtol={self.rtol}",
        )
        _require(
            math.isfinite(self.atol) and self.atol > 0,
            f"solver.atol must be > 0 Hz, got solver.atol={self.atol}",
        )


@dataclass
class AnalysisConfig:
    """How measured values are compared with theory, and by which check (None: the network's).

    A check reads ``rtol`` and, where it measures persistence, ``persistence_delay``
    (each check declares what it reads: :data:`analysis.checks.CHECKS`).
    """

    rtol: float = 1.0e-3
    """Relative tolerance of the theory check: ``|Q - Q_theory| <= rtol |Q_theory|``."""
    persistence_delay: float = 0.1
    """s; persistence is read this long after the input stops (``D`` in ``exp(-(1-lam) D/tau)``)."""
    check: str | None = None
    """The theory check (:data:`analysis.checks.CHECKS`); null: the network's first."""

    def __post_init__(self) -> None:
        _require(
            0 < self.rtol < 1, f"analysis.rtol must lie in (0, 1), got analysis.rtol={self.rtol}"
        )
        _require(
            math.isfinite(self.persistence_delay) and self.persistence_delay > 0,
            f"analysis.persistence_delay must be > 0 s, "
            f"got analysis.persistence_delay={self.persistence_delay}",
        )


@dataclass
class StoreConfig:
    """Where and how the Zarr store is written."""

    path: str = "results/${sweep.name}.zarr"
    """A folder, ``file://`` or ``s3://`` URL; relative to where the command runs. One store
    holds one config: another config needs another path."""
    rate_dtype: str = "float64"
    """How ``rate`` is stored: ``float32`` halves the disk; everything is checked in float64
    first."""
    chunk_mb: float = 32.0
    """MB; a block (one task, one chunk of every variable) holds about this much of the
    sweep's data: peak memory is at most about
    :data:`pipeline.run.resources.WORKING_COPIES` x workers x this."""
    chunk_points: int | None = None
    """Points per block instead of ``chunk_mb``; null: sized from ``chunk_mb``."""
    compressor: str = "lz4"
    """Blosc codec (one of :data:`COMPRESSORS`): lz4 keeps pace with the solver."""
    compression_level: int = 5
    """Blosc level 0..9; 0 stores raw bytes."""
    overwrite: bool = False
    """Replace a store of another config (a store of the same config is resumed even then)."""
    lease_seconds: float = 60.0
    """s; a driver's lease on its store, renewed every third of it; after it lapses another
    driver may take over a dead one's store (at once on the dead driver's own host)."""
    zarr_format: int = 3
    """Zarr v3 (default) or 2, for readers that need v2."""
    storage_options: dict[str, Any] = field(default_factory=dict)
    """Passed to ``s3fs.S3FileSystem`` for an ``s3://`` path (its keys are recorded, never its
    values)."""

    def __post_init__(self) -> None:
        _require(bool(self.path), "store.path must not be empty")
        problem = scheme_problem(self.path)
        _require(problem is None, f"store.path={self.path!r}: {problem}")
        _require(
            self.zarr_format in (2, 3),
            f"store.zarr_format must be 2 or 3, got store.zarr_format={self.zarr_format}",
        )
        _require(
            math.isfinite(self.lease_seconds) and self.lease_seconds > 0,
            f"store.lease_seconds must be > 0 s, got store.lease_seconds={self.lease_seconds}",
        )
        _require(
            self.rate_dtype in ("float32", "float64"),
            "store.rate_dtype must be float32 or float64, "
            f"got store.rate_dtype={self.rate_dtype!r}",
        )
        _require(self.chunk_mb > 0, f"store.chunk_mb must be > 0, got {self.chunk_mb}")
        _require(
            self.chunk_points is None or self.chunk_points >= 1,
            f"store.chunk_points must be >= 1, got {self.chunk_points}",
        )
        _require(
            self.compressor in COMPRESSORS,
            f"store.compressor must be one of {list(COMPRESSORS)}, "
            f"got store.compressor={self.compressor!r}",
        )
        _require(
            0 <= self.compression_level <= 9,
            f"store.compression_level must lie in 0..9 (0: no compression), "
            f"got store.compression_level={self.compression_level}",
        )


COMPRESSORS = ("lz4", "lz4hc", "zstd", "zlib", "blosclz")
"""Blosc codecs a store can use; lz4 keeps pace with the solver, zstd packs tighter."""


@dataclass
class ClusterConfig:
    """Where Dask runs the tasks (see ``conf/cluster/``)."""

    scheduler: str = "threads"
    """Dask scheduler; set by ``cluster=NAME`` (``conf/cluster/``)."""
    n_workers: int | None = None
    """Threads or processes; null: one per core."""

    def __post_init__(self) -> None:
        _require(
            self.scheduler in SCHEDULERS,
            f"cluster.scheduler must be one of {sorted(SCHEDULERS)}, "
            f"got cluster.scheduler={self.scheduler!r}",
        )
        needs = {"distributed": DistributedCluster, "slurm": SlurmCluster}.get(self.scheduler)
        _require(
            needs is None or isinstance(self, needs),
            f"cluster.scheduler={self.scheduler!r} needs its settings: "
            f"choose cluster={self.scheduler} instead",
        )
        _require(
            self.n_workers is None or self.n_workers >= 1,
            f"cluster.n_workers must be >= 1, got cluster.n_workers={self.n_workers}",
        )


SCHEDULERS = {"threads", "processes", "synchronous", "distributed", "slurm"}


@dataclass
class DistributedCluster(ClusterConfig):
    """A ``dask.distributed`` cluster: a local one, or one that runs already (``address``)."""

    scheduler: str = "distributed"
    address: str | None = None
    scheduler_file: str | None = None
    log_directory: str = "dask-logs"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            self.address is None or "://" in self.address,
            "cluster.address must be a scheduler's address with its protocol "
            f"(tcp://host:8786), got cluster.address={self.address!r}",
        )
        _require(
            self.address is None or self.scheduler_file is None,
            "give cluster.address or cluster.scheduler_file, not both: got "
            f"cluster.address={self.address!r} and cluster.scheduler_file={self.scheduler_file!r}",
        )
        _require(
            self.n_workers is None or not self.attached,
            f"cluster.n_workers={self.n_workers} sizes a local cluster; the cluster at "
            f"{self.address or self.scheduler_file} has its own workers: leave cluster.n_workers "
            "unset",
        )

    @property
    def attached(self) -> bool:
        """Whether the run uses a scheduler that runs already rather than a local cluster."""
        return self.address is not None or self.scheduler_file is not None


_WALLTIME = re.compile(r"^(\d+-\d{1,2}(:\d{2}){0,2}|\d+(:\d{2}){0,2})$")
"""SLURM's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""


def duration_seconds(text: str) -> float | None:
    """``text`` (``50m``, ``90s``, ``1h``) in seconds as Dask reads it; None if it cannot."""
    from dask.utils import parse_timedelta

    try:
        return float(parse_timedelta(text, default="s"))
    except (ValueError, KeyError, TypeError):
        return None


def walltime_seconds(walltime: str) -> int:
    """SLURM's time limit ``walltime`` (``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M`` or
    ``D-H:M:S``) in seconds."""
    days, _, clock = walltime.rpartition("-")
    parts = [int(part) for part in clock.split(":")]
    if days or len(parts) == 3:  # H[:M[:S]] after the days
        hours, minutes, seconds = [*parts, 0, 0][:3]
    else:
        hours, minutes, seconds = 0, *[*parts, 0][:2]
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([kKMGT]i?B)$")
"""A memory size as Dask writes one: 1GB, 512MiB, 1.5 GB."""


MAIL_TYPES = ("NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND",
              "STAGE_OUT", "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50",
              "ARRAY_TASKS")  # fmt: skip
"""The events sbatch's ``--mail-type`` names (``man sbatch``)."""


@dataclass
class JobResources:
    """The resources of one job of its own: an array's finishing job (``cluster.finish``) or
    the driver's job (``cluster.driver``); null: as the key's comment in
    ``conf/cluster/slurm.yaml`` says."""

    walltime: str | None = None
    """SLURM: ``--time`` of the job."""
    memory: str | None = None
    """SLURM: ``--mem`` of the job."""
    cores: int | None = None
    """SLURM: ``--cpus-per-task`` of the job."""

    def check(self, key: str) -> None:
        """Refuse a value SLURM would not read, naming ``key`` (``cluster.finish``)."""
        _require(
            self.walltime is None or bool(_WALLTIME.match(self.walltime)),
            f"{key}.walltime must be a SLURM time (HH:MM:SS, or D-HH:MM:SS) or null, "
            f"got {key}.walltime={self.walltime!r}",
        )
        _require(
            self.memory is None or bool(_MEMORY.match(self.memory)),
            f"{key}.memory must be a size such as 4GB or null, got {key}.memory={self.memory!r}",
        )
        _require(
            self.cores is None or self.cores >= 1,
            f"{key}.cores must be >= 1 or null, got {key}.cores={self.cores}",
        )


@dataclass
class SlurmCluster(ClusterConfig):
    """Dask workers started as SLURM jobs by ``dask_jobqueue.SLURMCluster``; the driver stays here.

    Each field's SLURM name is given in ``conf/cluster/slurm.yaml``.
    """

    scheduler: str = "slurm"
    partition: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    cores: int = 1
    memory: str = "2GB"
    processes: int = 1
    jobs: int = 2
    adaptive_minimum_jobs: int | None = None
    adaptive_maximum_jobs: int | None = None
    job_extra_directives: list[str] = field(default_factory=list)
    python: str | None = None
    job_script_prologue: list[str] = field(default_factory=list)
    local_directory: str | None = None
    log_directory: str = "dask-logs"
    job_name: str = "rate-sweeps-worker"
    """The worker jobs' name (``--job-name``); their output files are ``<job_name>-<id>.out``."""
    worker_lifetime: str | None = None
    """How long a worker lives before it retires (Dask's ``--lifetime``, e.g. ``"50m"``);
    null: ``walltime`` less a margin (:func:`pipeline.run.slurm.lifetime`)."""
    worker_wait: float = 1800.0
    """Seconds the run waits with no worker connected before it stops with exit code 3."""
    array_tasks: int | None = None
    """Tasks of the array of ``python -m pipeline.submit``; ``python -m pipeline`` ignores it."""
    qos: str | None = None
    mail_user: str | None = None
    mail_type: str | None = None
    array_parallelism: int | None = None
    finish: JobResources = field(default_factory=JobResources)
    driver: JobResources = field(default_factory=JobResources)

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            self.array_tasks is None or self.array_tasks >= 1,
            f"cluster.array_tasks must be >= 1, got cluster.array_tasks={self.array_tasks}",
        )
        _require(
            self.n_workers is None,
            f"cluster.n_workers={self.n_workers} does not apply to cluster=slurm: the workers "
            "are cluster.jobs x cluster.processes",
        )
        self.finish.check("cluster.finish")
        self.driver.check("cluster.driver")
        _require(
            self.array_parallelism is None or self.array_parallelism >= 1,
            "cluster.array_parallelism must be >= 1 or null, "
            f"got cluster.array_parallelism={self.array_parallelism}",
        )
        events = (self.mail_type or "").split(",")
        unknown = [event for event in events if event.strip().upper() not in MAIL_TYPES]
        _require(
            self.mail_type is None or not unknown,
            f"cluster.mail_type must be one or more of {', '.join(MAIL_TYPES)} (comma-separated), "
            f"got cluster.mail_type={self.mail_type!r}",
        )
        for key in ("partition", "account", "python", "local_directory", "qos", "mail_user"):
            value = getattr(self, key)
            _require(
                value is None or (value.strip() != "" and not value.startswith("-")),
                f"cluster.{key} must be a name or null, got cluster.{key}={value!r}",
            )
        _require(
            bool(_WALLTIME.match(self.walltime)),
            "cluster.walltime must be a SLURM time (HH:MM:SS, or D-HH:MM:SS), "
            f"got cluster.walltime={self.walltime!r}",
        )
        _require(
            bool(_MEMORY.match(self.memory)),
            f"cluster.memory must be a size such as 4GB, got cluster.memory={self.memory!r}",
        )
        for key in ("cores", "processes", "jobs"):
            _require(
                getattr(self, key) >= 1,
                f"cluster.{key} must be >= 1, got cluster.{key}={getattr(self, key)}",
            )
        _require(
            self.processes <= self.cores,
            f"cluster.processes={self.processes} must not exceed cluster.cores={self.cores}: "
            "each worker process needs a core",
        )
        low, high = self.adaptive_minimum_jobs, self.adaptive_maximum_jobs
        _require(
            (low is None) == (high is None),
            "adaptive scaling needs both cluster.adaptive_minimum_jobs and "
            f"cluster.adaptive_maximum_jobs, got {low} and {high}",
        )
        _require(
            low is None or (0 <= low <= high and high >= 1),  # type: ignore[operator]
            "cluster.adaptive_minimum_jobs must lie in 0..cluster.adaptive_maximum_jobs and the "
            f"maximum be >= 1, got cluster.adaptive_minimum_jobs={low}, "
            f"cluster.adaptive_maximum_jobs={high}",
        )
        _require(
            self.worker_wait > 0,
            f"cluster.worker_wait must be > 0 seconds, got cluster.worker_wait={self.worker_wait}",
        )
        _require(
            bool(re.fullmatch(r"[\w.+-]+", self.job_name)),
            "cluster.job_name must be letters, digits, '.', '_', '+' or '-', "
            f"got cluster.job_name={self.job_name!r}",
        )
        if self.worker_lifetime is not None:
            _require(
                duration_seconds(self.worker_lifetime) is not None,
                "cluster.worker_lifetime must be a duration such as 50m or 90s, "
                f"got cluster.worker_lifetime={self.worker_lifetime!r}",
            )
            _require(
                0 < duration_seconds(self.worker_lifetime) < walltime_seconds(self.walltime),  # type: ignore[operator]
                f"cluster.worker_lifetime={self.worker_lifetime} must be above 0 and below "
                f"cluster.walltime={self.walltime}: a worker retires before its job's time limit",
            )
        for directive in self.job_extra_directives:
            _require(
                directive.startswith("-"),
                "each of cluster.job_extra_directives is an sbatch option such as --qos=high, "
                f"got cluster.job_extra_directives={self.job_extra_directives}",
            )


@dataclass
class CatalogConfig:
    """The SQLite run catalog: one row per run of any sweep."""

    path: str | None = None
    """None: the file ``$RATE_SWEEPS_CATALOG`` names, else ``catalog.sqlite`` in the
    directory of ``store.path``."""


@dataclass
class TrackingConfig:
    """Where runs are tracked besides the run catalog (see ``conf/tracking/``)."""

    backend: str = "none"
    """``none`` (the run catalog only) or ``mlflow``; set by ``tracking=NAME``."""
    uri: str | None = None
    """MLflow tracking URI; null: ``sqlite:///.../mlflow.db`` beside the run catalog."""
    experiment: str = "rate-sweeps"
    """The MLflow experiment the runs go to."""

    def __post_init__(self) -> None:
        _require(
            self.backend in TRACKING_BACKENDS,
            f"tracking.backend must be one of {list(TRACKING_BACKENDS)}, "
            f"got tracking.backend={self.backend!r}",
        )
        _require(bool(self.experiment), "tracking.experiment must not be empty")


TRACKING_BACKENDS = ("none", "mlflow")


@dataclass
class Config:
    """The whole resolved configuration of one sweep run."""

    sweep: SweepConfig = MISSING
    network: NetworkConfig = MISSING
    stimulus: StimulusConfig = field(default_factory=StimulusConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    tags: list[str] | None = None
    """Labels of the run in the catalog (``+tags=[baseline,tanh]``); they change no result."""
    report: bool = True
    """Write figures and ``index.html`` into ``<store>.report/`` after the run (for a store
    on an object store, beside the run's catalog: ``results/<name>.report/``)."""
    report_dir: str | None = None
    """A folder for the report instead (replaced by each run's report); null: as ``report``
    says."""

    def __post_init__(self) -> None:
        if self.sweep is MISSING or self.network is MISSING:
            return
        _require(
            self.report_dir is None or self.report_dir.strip() != "",
            f"report_dir must be a folder or null, got report_dir={self.report_dir!r}",
        )
        _check_grid_against_network(self.sweep.grid, self.network.kind)
        _check_model(self)
        dt, end = self.record.dt, self.record.duration
        reads_delay = "persistence_delay" in CHECKS[self.check_name].reads
        timed = [("stimulus.onset", self.stimulus.onset), ("stimulus.offset", self.stimulus.offset)]
        if reads_delay:
            timed.append(("analysis.persistence_delay", self.analysis.persistence_delay))
        for key, value in timed:
            _require(
                _on_grid(value, dt),
                f"{key}={value} must be a whole number of record.dt={dt}, "
                "so that the analysis reads it off a recorded sample",
            )
        n_epoch = NETWORKS[self.network.kind].epochs(self.network)
        epoch = (self.stimulus.offset - self.stimulus.onset) / n_epoch
        _require(
            n_epoch == 1 or (_on_grid(epoch, dt) and epoch >= 3 * dt - 1e-9 * dt),
            f"network {self.network.kind!r} shares the step among {n_epoch} input epochs of "
            f"(stimulus.offset - stimulus.onset)/{n_epoch} = {epoch:.6g} s each; that must be "
            f"a whole number, at least 3, of record.dt={dt} for the fit of each epoch",
        )
        _require(
            not reads_delay
            or self.stimulus.offset + self.analysis.persistence_delay <= end + 1e-9 * dt,
            f"record.duration={end} ends before stimulus.offset + analysis.persistence_delay "
            f"= {self.stimulus.offset + self.analysis.persistence_delay}",
        )

    @property
    def check_name(self) -> str:
        """The theory check of this run: ``analysis.check``, or the network's first."""
        return self.analysis.check or NETWORKS[self.network.kind].checks[0]


def _on_grid(value: float, dt: float) -> bool:
    steps = value / dt
    return abs(steps - round(steps)) <= 1e-6


def _check_model(config: Config) -> None:
    """Refuse a solver that cannot solve the model, or a check that does not fit the network."""
    transfer, method = config.network.transfer, config.solver.method
    general = " or ".join(
        f"solver.method={name}" for name, s in solvers.SOLVERS.items() if not s.linear_only
    )
    _require(
        transfer == "linear" or not solvers.SOLVERS[method].linear_only,
        f"solver.method={method!r} solves only the linear model; network.transfer={transfer!r} "
        f"needs {general}",
    )
    checks = NETWORKS[config.network.kind].checks
    _require(
        config.analysis.check is None or config.analysis.check in checks,
        f"analysis.check={config.analysis.check!r} does not apply to network "
        f"{config.network.kind!r} (it takes {', '.join(checks)})",
    )


def _check_grid_against_network(axes: dict[str, list[float]], kind: str) -> None:
    _require(
        kind in NETWORKS,
        f"network.kind={kind!r} is not a known network (known: {sorted(NETWORKS)})",
    )
    spec = NETWORKS[kind]
    required = {"tau", *spec.parameters}
    allowed = required | set(spec.optional) | set(grid.STIMULUS_PARAMETERS)
    for key in required - set(axes):
        raise ConfigError(
            f"sweep.grid.{key} is missing: network {kind!r} needs values for "
            f"{', '.join(sorted(required))}"
        )
    for key in set(axes) - allowed:
        raise ConfigError(
            f"sweep.grid.{key} is not a parameter of network {kind!r} "
            f"(it takes {', '.join(sorted(allowed))})"
        )
