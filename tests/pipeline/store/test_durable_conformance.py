"""zarr-python's own store conformance suite, run against the durable local store.

``zarr.testing.store.StoreTests`` is what every one of zarr's own stores
passes (zarr subclasses it per backend in its tests); the durable store must
behave as a zarr store in every way it tests, with its durable writes.
"""

from __future__ import annotations

import pytest
from zarr.buffer import cpu
from zarr.testing.store import StoreTests

from pipeline.store.durable import DurableLocalStore


class TestDurableLocalStore(StoreTests[DurableLocalStore, cpu.Buffer]):
    store_cls = DurableLocalStore
    buffer_cls = cpu.Buffer

    async def get(self, store: DurableLocalStore, key: str) -> cpu.Buffer:
        return self.buffer_cls.from_bytes((store.root / key).read_bytes())

    async def set(self, store: DurableLocalStore, key: str, value: cpu.Buffer) -> None:
        path = store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value.to_bytes())

    @pytest.fixture
    def store_kwargs(self, tmp_path) -> dict[str, str]:
        return {"root": str(tmp_path)}

    def test_store_repr(self, store: DurableLocalStore) -> None:
        assert str(store) == f"file://{store.root.as_posix()}"

    def test_store_supports_writes(self, store: DurableLocalStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: DurableLocalStore) -> None:
        assert store.supports_listing
