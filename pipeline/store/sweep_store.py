"""A sweep's store: one interface, one class per kind of storage.

:class:`SweepStore` is everything a run, ``python -m pipeline.verify`` and
the array tasks do to a store: create or resume it (:meth:`~SweepStore.prepare`,
:meth:`~SweepStore.scan`, :meth:`~SweepStore.repair`), hold its one-writer
lease (:meth:`~SweepStore.lease`), write blocks
(:meth:`~SweepStore.block_writer`), finalize it and take its digest.  Those
are written once, here and in the modules it delegates to
(:mod:`~pipeline.store.lifecycle`, :mod:`~pipeline.store.integrity`,
:mod:`~pipeline.store.verify`, :mod:`~pipeline.store.chunks`,
:mod:`~pipeline.store.lease`), on top of the few operations that depend on
where the store lives, which each kind implements:

- :class:`~pipeline.store.local.LocalSweepStore`: a folder of a local or
  shared file system, written through
  :class:`~pipeline.store.durable.DurableLocalStore`; its lease is a file
  under ``flock`` (:class:`~pipeline.store.lease.FileLease`).
- :class:`~pipeline.store.objects.ObjectSweepStore`: a prefix of an
  S3-compatible object store, written through zarr's ``FsspecStore`` over
  ``s3fs``; its lease is a sequence of put-if-absent records
  (:class:`~pipeline.store.lease.ObjectLease`).

:func:`pipeline.store.kinds.open_sweep_store` chooses the kind from ``store.path``.  Nothing
outside ``pipeline/store/`` asks which kind a store is.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from pipeline.store import chunks, integrity, lease, lifecycle, solves, verify
from pipeline.store.base import StoreBase
from pipeline.store.layout import StoreTemplate

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr


class SweepStore(StoreBase):
    """One sweep's Zarr store, wherever it lives: what a run does to it."""

    # --- a store's life (pipeline.store.lifecycle) ----------------------------------------

    def root_attrs(self) -> dict[str, Any] | None:
        """Root attributes of the pipeline store here; None if it is not one."""
        return lifecycle.root_attrs(self)

    def check(self, attrs: Mapping[str, Any], overwrite: bool) -> str:
        """How a run with root attributes ``attrs`` may open this store, touching nothing
        (:func:`pipeline.store.lifecycle.check_path`)."""
        return lifecycle.check_path(self, attrs, overwrite)

    def prepare(self, template: StoreTemplate, overwrite: bool) -> str:
        """Create, replace or check for resuming (:func:`pipeline.store.lifecycle.prepare`)."""
        return lifecycle.prepare(self, template, overwrite)

    def scan(self) -> integrity.Scan:
        """Every chunk read once (:func:`pipeline.store.integrity.scan`)."""
        return integrity.scan(self)

    def repair(self, scan: integrity.Scan, full: xr.Dataset) -> np.ndarray:
        """Make a resumed store whole again (:func:`pipeline.store.lifecycle.repair`)."""
        return lifecycle.repair(self, scan, full)

    def mark_incomplete(self) -> None:
        """Say in the root attributes that points are being computed."""
        lifecycle.mark_incomplete(self)

    def finalize(self, run: Mapping[str, Any]) -> dict[str, int]:
        """Record point counts, status and ``run`` (:func:`pipeline.store.lifecycle.finalize`)."""
        return lifecycle.finalize(self, run)

    def record_verdict(self, verdict: str) -> None:
        """Record the store's verdict and consolidate its metadata."""
        lifecycle.record_verdict(self, verdict)

    def read_status(self) -> np.ndarray:
        """The status code of every sweep point."""
        return chunks.read_status(self.zarr_store(read_only=True))

    # --- writing blocks (pipeline.store.chunks) -------------------------------------------

    def block_writer(
        self, dims: tuple[str, ...], token: str, leased: StoreBase | None = None
    ) -> chunks.BlockWriter:
        """What a task writes its block with: the arrays the blocks fill, opened once, and
        the lease (this store's, or that of ``leased``) whose ``token`` must still hold."""
        arrays = chunks.block_arrays(self.zarr_store(keep_hashes=True), dims)
        record = solves.Solves(solves.records_of(self), token)
        return chunks.BlockWriter(arrays, dims, (leased or self).lease_record(), token, record)

    # --- the lease (pipeline.store.lease) -------------------------------------------------

    def lease(self, seconds: float) -> AbstractContextManager[lease.Lease]:
        """Hold this store's lease while the block runs (:func:`pipeline.store.lease.held`)."""
        return lease.held(self, seconds)

    def lease_holder(self) -> dict[str, Any] | None:
        """The driver that holds this store's lease now; None if none does."""
        return lease.holder(self)

    # --- checking (pipeline.store.verify) -------------------------------------------------

    def inspect(self) -> verify.Report:
        """What ``python -m pipeline.verify`` reports (:func:`pipeline.store.verify.inspect`)."""
        return verify.inspect(self)

    def digest(self, known: Mapping[str, bytes] | None = None) -> str:
        """The content digest (:func:`pipeline.store.verify.content_digest`)."""
        return verify.content_digest(self, known)
