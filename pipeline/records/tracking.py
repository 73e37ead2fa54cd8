"""Runs logged to MLflow, for labs that track there (``tracking=mlflow``).

Each run that the catalog records as ended is logged as one MLflow run:

- params: the resolved config, flattened (``network.transfer``), each value
  as text (cut to :data:`PARAM_LENGTH` characters, MLflow's limit);
- metrics: point counts, the duration, and the summary's figures per
  checked quantity (``gain.agree``, ``gain.worst_error``, ...);
- tags: sweep, store, fingerprint, code version, status, verdict, the
  run's id in the catalog, each of its catalog tags (``+tags=[baseline]``) as
  ``tag.baseline``, and its note as MLflow's note (``mlflow.note.content``);
- artifacts: the resolved config as ``config.yaml``, and the report's files
  where the run wrote one.

The runs of one Hydra multirun are the children of one parent run, found by
the multirun's output folder (tag ``rate_sweeps.multirun``), so jobs in
separate processes (a SLURM array) join the same parent.  The catalog
records where each run was logged (``mlflow_uri``, ``mlflow_run_id``), so
that tags and notes given later (``python -m pipeline.catalog tag|note``)
reach MLflow too (:func:`annotate`).  Logging never fails the sweep: any
error is returned as a message for the run to print.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.records import catalog
from pipeline.records.catalog import flat_config

PARAM_LENGTH = 6000
"""Longest param value MLflow stores; longer values (long grids) are cut, marked ``...``."""

RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
"""How long a sweep waits for a tracking server that does not answer."""

MULTIRUN_TAG = "rate_sweeps.multirun"
"""Tag of a multirun's parent run: the multirun's output folder."""

TAG_PREFIX = "tag."
"""MLflow tag of each catalog tag: ``tag.baseline`` = ``true``."""

NOTE_TAG = "mlflow.note.content"
"""The MLflow tag its UI shows as a run's description."""


def default_uri(catalog_file: Path) -> str:
    """``sqlite:///.../mlflow.db`` beside the run catalog."""
    return f"sqlite:///{(catalog_file.parent / 'mlflow.db').resolve()}"


def metrics_of(fields: Mapping[str, Any], figures: Mapping[str, Mapping[str, Any]]) -> dict:
    """Every number the catalog holds about the run's outcome, by MLflow metric name."""
    metrics = {
        key: float(value)
        for key, value in fields.items()
        if (key.startswith("points_") or key in ("duration_s", "blocks_computed"))
        and value is not None
    }
    for quantity, values in figures.items():
        for name, value in values.items():
            if isinstance(value, int | float):
                metrics[f"{quantity}.{name}"] = float(value)
    return metrics


def params_of(config_yaml: str) -> dict[str, str]:
    """The flattened config as MLflow params (text, cut to :data:`PARAM_LENGTH`)."""
    params = {}
    for key, value in flat_config(config_yaml).items():
        text = str(value)
        params[key] = text if len(text) <= PARAM_LENGTH else text[: PARAM_LENGTH - 3] + "..."
    return params


def track(config: Any, result: Any, multirun: str | None = None) -> str | None:
    """Log the run of ``config`` that ended as ``result`` where ``config.tracking`` says.

    Returns why it could not be logged, if it could not; None otherwise.
    """
    if config.tracking.backend != "mlflow":
        return None
    fields = catalog.run(result.catalog, result.run_id)
    uri = config.tracking.uri or default_uri(result.catalog)
    report = Path(fields["report"]) if fields.get("report") else None
    logged, problem = log_run(
        uri, config.tracking.experiment, fields, fields["results"], report, multirun
    )
    if logged is not None:
        catalog.update_run(
            result.catalog, result.run_id, {"mlflow_uri": uri, "mlflow_run_id": logged}
        )
    return problem


def annotate(
    uri: str, run_id: str, tags: Sequence[str] = (), note: str | None = None
) -> str | None:
    """Add ``tags`` and set ``note`` of MLflow run ``run_id`` at ``uri``; why not, if it failed."""
    try:
        import mlflow
    except ImportError:
        return 'the run was logged to MLflow, which is not installed: pip install -e ".[mlflow]"'
    _quiet()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = mlflow.MlflowClient(tracking_uri=uri)
            for name in tags:
                client.set_tag(run_id, TAG_PREFIX + name, "true")
            if note is not None:
                client.set_tag(run_id, NOTE_TAG, note)
    except Exception as err:  # a server down: the catalog has it, MLflow does not
        return f"could not update MLflow run {run_id} at {uri}: {type(err).__name__}: {err}"
    return None


def _quiet() -> None:
    """MLflow's own INFO lines are not the user's business; a server that is down is given
    seconds, not MLflow's minutes of retries (the user's own settings win)."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    for variable, value in RETRIES.items():
        os.environ.setdefault(variable, value)


def log_run(
    uri: str,
    experiment: str,
    fields: Mapping[str, Any],
    figures: Mapping[str, Mapping[str, Any]],
    report: Path | None = None,
    multirun: str | None = None,
) -> tuple[str | None, str | None]:
    """Log one ended run (its catalog ``fields`` and result ``figures``) to MLflow at ``uri``.

    Returns the MLflow run's id, or None and why it was not logged (the sweep goes on).
    """
    try:
        import mlflow
    except ImportError:
        return None, 'tracking=mlflow needs MLflow: pip install -e ".[mlflow]"'
    _quiet()
    try:
        # MLflow's and SQLAlchemy's deprecation notices are theirs to fix, not the user's.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlflow.set_tracking_uri(uri)
            client = mlflow.MlflowClient()
            experiment_id = _experiment(client, uri, experiment)
            tags = {
                "sweep": fields["sweep"],
                "store": fields["store"],
                "fingerprint": fields["fingerprint"],
                "code_version": fields["code_version"],
                "status": fields["status"],
                "verdict": str(fields.get("verdict")),
                "catalog_run_id": str(fields["id"]),
                **{TAG_PREFIX + name: "true" for name in catalog.tag_list(fields.get("tags"))},
            }
            if fields.get("note"):
                tags[NOTE_TAG] = fields["note"]
            if multirun is not None:
                tags["mlflow.parentRunId"] = _parent(client, experiment_id, multirun)
            run = client.create_run(
                experiment_id, tags=tags, run_name=f"{fields['sweep']}-{fields['id']}"
            )
            run_id = run.info.run_id
            params = params_of(fields.get("config") or "")
            metrics = metrics_of(fields, figures)
            client.log_batch(
                run_id,
                params=[mlflow.entities.Param(k, v) for k, v in params.items()],
                metrics=[mlflow.entities.Metric(k, v, 0, 0) for k, v in metrics.items()],
            )
            client.log_text(run_id, fields.get("config") or "", "config.yaml")
            if report is not None and report.exists():
                client.log_artifacts(run_id, str(report), "report")
            ended = "FINISHED" if fields["status"] == "complete" else "FAILED"
            client.set_terminated(run_id, ended)
            if multirun is not None:  # the parent ends with its latest child
                client.set_terminated(tags["mlflow.parentRunId"], "FINISHED")
    except Exception as err:  # a server down, a refusal, a full disk: never the sweep's failure
        return None, f"could not log the run to MLflow at {uri}: {type(err).__name__}: {err}"
    return run_id, None


def _experiment(client: Any, uri: str, name: str) -> str:
    """The id of experiment ``name``, created where missing.

    Beside a local SQLite store its artifacts go to ``mlflow-artifacts/``
    next to the database file, not to ``./mlruns`` under wherever the sweep ran.
    """
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlflow-artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def _parent(client: Any, experiment_id: str, multirun: str) -> str:
    """The id of the multirun's parent run, created by its first job to get here."""
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.`{MULTIRUN_TAG}` = '{multirun}'", max_results=1
    )
    if found:
        return found[0].info.run_id
    parent = client.create_run(
        experiment_id, tags={MULTIRUN_TAG: multirun}, run_name=f"multirun {Path(multirun).name}"
    )
    return parent.info.run_id
