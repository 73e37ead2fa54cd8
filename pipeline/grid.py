"""The sweep grid: one dimension per swept parameter, cut into blocks.

A sweep is the outer product of its axes, so ``.sel(lam=0.5, tau=0.01)``
works on the store.  The grid is cut into blocks that are contiguous in every
sweep dimension; a block is one Dask task and one Zarr chunk of every
variable that has the sweep dimensions, so no two tasks ever write the same
chunk.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

PARAMETERS: dict[str, dict[str, str]] = {
    "tau": {"units": "s", "long_name": "neuronal time constant"},
    "lam": {"units": "1", "long_name": "eigenvalue of the recurrent weights"},
    "amplitude": {"units": "Hz", "long_name": "input amplitude during the step"},
    "coupling": {"units": "1", "long_name": "symmetric coupling weight between two neurons"},
    "input_angle": {"units": "rad", "long_name": "direction of the input in the (h1, h2) plane"},
    "lam1": {"units": "1", "long_name": "autapse weight of neuron 1"},
    "lam2": {"units": "1", "long_name": "autapse weight of neuron 2"},
    "seed": {"units": "1", "long_name": "seed of the random eigenvectors and inputs"},
    "lam_real": {"units": "1", "long_name": "real part of the eigenvalues"},
    "lam_imag": {"units": "1", "long_name": "imaginary part of the eigenvalues (+-)"},
}
"""Attributes of every parameter a grid may sweep; scenarios add their own."""

STIMULUS_PARAMETERS = ("amplitude",)
"""Grid parameters that every network accepts because they shape the input."""

WHOLE_NUMBER_PARAMETERS = ("seed",)
"""Grid parameters that count or label, so that only whole numbers make sense."""


@dataclass(frozen=True)
class Grid:
    """The swept parameters in the order of the config, each with its values."""

    dims: tuple[str, ...]
    axes: tuple[np.ndarray, ...]

    @classmethod
    def from_config(cls, grid: Mapping[str, Sequence[float]]) -> Grid:
        return cls(
            dims=tuple(grid),
            axes=tuple(np.asarray(values, dtype=float) for values in grid.values()),
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def coords(self) -> dict[str, xr.Variable]:
        """Dimension coordinates with ``units`` and ``long_name``."""
        return {
            name: xr.Variable(name, axis, PARAMETERS.get(name, {}))
            for name, axis in zip(self.dims, self.axes, strict=True)
        }

    def points(self, slices: Sequence[slice]) -> dict[str, np.ndarray]:
        """The parameter values of every point in ``slices``, flattened in C order."""
        mesh = np.meshgrid(*(a[s] for a, s in zip(self.axes, slices, strict=True)), indexing="ij")
        return {name: m.ravel() for name, m in zip(self.dims, mesh, strict=True)}


def block_shape(shape: Sequence[int], points_per_block: int) -> tuple[int, ...]:
    """Chunk sizes along the sweep dimensions holding at most ``points_per_block``.

    Inner dimensions are filled first, so a block is a contiguous run of the
    C-ordered grid whenever it can be.
    """
    chunks = []
    room = max(1, points_per_block)
    for size in reversed(shape):
        take = min(size, room)
        chunks.append(take)
        room = max(1, room // take)
    return tuple(reversed(chunks))


def points_per_block(
    n_points: int, bytes_per_point: int, chunk_mb: float, chunk_points: int | None
) -> int:
    """How many points make one block: ``chunk_points`` if given, else ~``chunk_mb`` of rate."""
    if chunk_points is not None:
        return chunk_points
    return max(1, min(n_points, int(chunk_mb * 2**20) // max(1, bytes_per_point)))


@dataclass(frozen=True)
class Block:
    """One task's share of the grid: a slice along every sweep dimension."""

    index: tuple[int, ...]
    slices: tuple[slice, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(s.stop - s.start for s in self.slices)

    def region(self, dims: Sequence[str]) -> dict[str, slice]:
        return dict(zip(dims, self.slices, strict=True))


def block_slices(
    index: Sequence[int], chunks: Sequence[int], shape: Sequence[int]
) -> tuple[slice, ...]:
    """The sweep points of block ``index`` of a grid of ``shape`` cut into ``chunks``."""
    return tuple(
        slice(i * chunk, min((i + 1) * chunk, size))
        for i, chunk, size in zip(index, chunks, shape, strict=True)
    )


def blocks(shape: Sequence[int], chunks: Sequence[int]) -> Iterator[Block]:
    """Every block of a grid of ``shape`` cut into ``chunks``, in C order."""
    counts = [math.ceil(size / chunk) for size, chunk in zip(shape, chunks, strict=True)]
    for index in itertools.product(*(range(n) for n in counts)):
        yield Block(index=index, slices=block_slices(index, chunks, shape))
