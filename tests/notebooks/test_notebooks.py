"""The example notebooks run, every cell, as an analyst would run them (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_autapse_notebook_runs_and_its_checks_hold(tmp_path):
    """Every cell runs in a fresh kernel; its asserts (gain 2 at lam 0.5, 1/(1-lam)) hold."""
    notebook = nbformat.read(ROOT / "notebooks" / "autapse.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "measured gain 2.000000, theory 2.000000" in printed
    assert "lam =  1.50: no_steady_state" in printed
    assert "overall: PASS" in printed
    assert (tmp_path / "results" / "notebook_autapse.zarr").is_dir()
