"""``modelcycle demo``: a small real training, tracked, to show what modelcycle records.

It trains on scikit-learn's bundled breast-cancer data (no download), in seconds:

- logistic regressions for a few ``C`` values, each fitted on growing shares of the training set,
  so every run has a learning curve (the step is the number of training rows);
- SGD classifiers for a few ``alpha`` values, trained epoch by epoch with ``partial_fit``, logging
  loss and accuracy at each epoch.

Each run logs its params, per-step metrics, validation AUC, tags, the dataset it read and the model
saved with skops; then the demo searches for the best run and takes its model through the
registry: registers it, evaluates it on the validation rows (metrics logged to a run and attached
to the version), sets a promotion policy with a metric gate, requests production as one user and
approves as another, and writes the version's model card. Last, it serves the champion over HTTP
on a loopback port, sends it traffic and reads the server's own metrics. Each stage is a small
function.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.cli._output import (
    JsonFlag,
    console,
    err_console,
    plain,
    print_json,
    progress,
    short_id,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.table import Table

    from modelcycle.tracking.run import ActiveRun

EXPERIMENT = "demo"
DATASET = "sklearn-breast-cancer"
SEED = 0
LOGREG_C = (0.01, 0.1, 1.0)
LOGREG_SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
SGD_ALPHAS = (1e-4, 1e-2)
SGD_EPOCHS = 20
BEST_METRIC = "val_auc"
MODEL_NAME = "demo-breast-cancer"
TARGET = "malignant"
GATES = ("roc_auc >= 0.9", "roc_auc >= champion")
SERVED_REQUESTS = 200
TRAINER = "demo-trainer"
REVIEWER = "demo-reviewer"

Step = Callable[[], None]
"""Called once per training step, to advance the progress bar."""


@dataclass(frozen=True)
class Split:
    """Standardized training and validation data, and the scaler that standardized them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    scaler: Any
    dataset_version: str
    feature_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Promotion:
    """What the registry step did with the best model."""

    name: str
    version: int
    uri: str
    stage: str
    metrics: dict[str, float]
    request_id: int
    requested_by: str
    approved_by: str
    card: Path


def run_demo(as_json: JsonFlag = False) -> None:
    """Train a few real models, tracked as runs of experiment 'demo', and show the best.

    The runs go to the configured store (MODELCYCLE_URI, ./.modelcycle by default).

    Needs scikit-learn and skops: pip install 'modelcycle[sklearn]'.

    Then the best model is registered as 'demo-breast-cancer', evaluated, and promoted to
    production through a metric gate and a second person's approval; last, it is served over
    HTTP on a loopback port for a few hundred requests, and the server's metrics are shown.

    JSON: {"experiment", "store", "session", "seconds", "best_run_id", "runs", "model",
    "next_commands"}; "model" is {"name", "version", "uri", "stage", "metrics", "request_id",
    "requested_by", "approved_by", "card"}; "serving" is {"uri", "url", "requests", "errors",
    "agreeing", "p50_ms", "p99_ms", "metrics_requests"}.
    """
    started = time.perf_counter()
    session = uuid.uuid4().hex[:12]
    # Importing scikit-learn takes seconds on a cold start: show that something is happening.
    with err_console().status("Loading scikit-learn and the dataset"):
        require_sklearn()
        split = load_split()
    total = len(LOGREG_C) * len(LOGREG_SHARES) + len(SGD_ALPHAS) * SGD_EPOCHS
    models: dict[str, Any] = {}
    with progress() as bar:
        task = bar.add_task("Training demo models", total=total)

        def step() -> None:
            bar.advance(task)

        for c in LOGREG_C:
            run_id, model = train_logistic_regression(split, c, session, step)
            models[run_id] = model
        for alpha in SGD_ALPHAS:
            run_id, model = train_sgd(split, alpha, session, step)
            models[run_id] = model
    ranked = session_runs(session)
    best_run_id = str(ranked.iloc[0]["run_id"])
    train, valid = raw_frames(split)
    with err_console().status("Registering, evaluating and promoting the best model"):
        promotion = promote_best(train, valid, best_run_id, models[best_run_id])
    with err_console().status(f"Serving {promotion.name}@champion and sending it traffic"):
        from modelcycle.cli._demo_serving import serve_and_probe

        probe = serve_and_probe(
            f"models:/{promotion.name}@champion",
            promotion.name,
            valid.drop(columns=[TARGET]),
            requests=SERVED_REQUESTS,
        )
    seconds = time.perf_counter() - started
    commands = next_commands(list(ranked["run_id"]), promotion)
    if as_json:
        document = summary_document(ranked, session, seconds, commands)
        print_json(
            {
                **document,
                "model": _promotion_document(promotion),
                "serving": dataclasses.asdict(probe),
            }
        )
    else:
        print_summary(ranked, seconds, commands, promotion)
        print_serving(probe)


def require_sklearn() -> None:
    """Stop with an install hint, before any run is started, when the ``sklearn`` extra is
    missing."""
    try:
        import sklearn  # noqa: F401
        import skops.io  # noqa: F401
    except ImportError as error:
        from modelcycle.cli._errors import missing_dependency

        missing_dependency(error, extra="sklearn", purpose="modelcycle demo")


def load_split() -> Split:
    """The breast-cancer data, 75 % to train and 25 % to validate, standardized on the former."""
    import sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    features, target = load_breast_cancer(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(
        features, target, test_size=0.25, random_state=SEED, stratify=target
    )
    scaler = StandardScaler().fit(x_train)
    return Split(
        scaler.transform(x_train),
        y_train,
        scaler.transform(x_valid),
        y_valid,
        scaler,
        dataset_version=f"{DATASET}@{sklearn.__version__}",
        feature_names=tuple(name.replace(" ", "_") for name in load_breast_cancer().feature_names),
    )


def train_logistic_regression(split: Split, c: float, session: str, step: Step) -> tuple[str, Any]:
    """One run: a learning curve over growing shares of the training rows, then the model
    fitted on all of them. Returns the run's id and the fitted model."""
    from sklearn.linear_model import LogisticRegression

    import modelcycle as mc

    params = {"model": "LogisticRegression", "C": c, "solver": "lbfgs", "max_iter": 1000}
    with mc.start_run(
        experiment=EXPERIMENT,
        name=f"logreg-C{c:g}",
        params=params,
        tags=_tags(session, "linear"),
    ) as run:
        _log_inputs(run, split)
        model = LogisticRegression(C=c, max_iter=1000)
        for share in LOGREG_SHARES:
            rows = int(round(share * len(split.y_train)))
            model.fit(split.x_train[:rows], split.y_train[:rows])
            metrics = evaluate(model, split)
            metrics["train_accuracy"] = float(
                model.score(split.x_train[:rows], split.y_train[:rows])
            )
            run.log_metrics(metrics, step=rows)
            step()
        save_model(run, model, split)
    return run.id, model


def train_sgd(split: Split, alpha: float, session: str, step: Step) -> tuple[str, Any]:
    """One run: an SGD logistic classifier trained epoch by epoch on shuffled rows, logging
    training loss and validation metrics at each epoch. Returns the run's id and the model."""
    import numpy as np
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss

    import modelcycle as mc

    params = {"model": "SGDClassifier", "loss": "log_loss", "alpha": alpha,
              "epochs": SGD_EPOCHS, "learning_rate": "optimal"}  # fmt: skip
    with mc.start_run(
        experiment=EXPERIMENT,
        name=f"sgd-alpha{alpha:g}",
        params=params,
        tags=_tags(session, "linear-sgd"),
    ) as run:
        _log_inputs(run, split)
        model = SGDClassifier(loss="log_loss", alpha=alpha, random_state=SEED)
        shuffler = np.random.default_rng(SEED)
        classes = np.unique(split.y_train)
        for epoch in range(1, SGD_EPOCHS + 1):
            order = shuffler.permutation(len(split.y_train))
            model.partial_fit(split.x_train[order], split.y_train[order], classes=classes)
            metrics = evaluate(model, split)
            metrics["train_loss"] = float(
                log_loss(split.y_train, model.predict_proba(split.x_train))
            )
            run.log_metrics(metrics, step=epoch)
            step()
        save_model(run, model, split)
    return run.id, model


def evaluate(model: Any, split: Split) -> dict[str, float]:
    """Validation AUC, accuracy and log loss of a fitted classifier."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    probabilities = model.predict_proba(split.x_valid)[:, 1]
    return {
        "val_auc": float(roc_auc_score(split.y_valid, probabilities)),
        "val_accuracy": float(accuracy_score(split.y_valid, probabilities >= 0.5)),
        "val_loss": float(log_loss(split.y_valid, probabilities)),
    }


def save_model(run: ActiveRun, model: Any, split: Split) -> None:
    """Store the scaler and the model as one skops pipeline, the run's ``model/`` artifact.

    skops rather than pickle: loading it back executes no code from the file.
    """
    import skops.io
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("scale", split.scaler), ("classify", model)])
    with tempfile.TemporaryDirectory(prefix="modelcycle-demo-") as scratch:
        path = Path(scratch) / "model.skops"
        skops.io.dump(pipeline, path)
        run.log_artifact(path, "model")


def raw_frames(split: Split) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training features and labelled validation rows as the registered model sees them:
    unscaled, with column names (its pipeline scales them itself)."""
    import pandas as pd

    columns = list(split.feature_names)
    train = pd.DataFrame(split.scaler.inverse_transform(split.x_train), columns=columns)
    valid = pd.DataFrame(split.scaler.inverse_transform(split.x_valid), columns=columns)
    valid[TARGET] = split.y_valid
    return train, valid


def promote_best(train: pd.DataFrame, valid: pd.DataFrame, run_id: str, model: Any) -> Promotion:
    """Register the best model, evaluate it on ``valid``, gate it and promote it with a second
    person's approval; write its model card. ``train`` and ``valid`` are ``raw_frames``.

    The registered pipeline's scaler is refitted on named columns (the same mean and scale) so
    the model's signature names each feature.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    import modelcycle as mc
    from modelcycle.config import config_context

    pipeline = Pipeline([("scale", StandardScaler().fit(train)), ("classify", model)])
    with config_context(user=TRAINER):
        version = mc.registry.register_model(
            pipeline,
            MODEL_NAME,
            run_id=run_id,
            input_example=train.head(5),
            description=(
                "Flags breast-cancer biopsies as malignant from 30 cell-nucleus measurements; "
                "trained by `modelcycle demo`."
            ),
        )
        result = mc.evaluate(version.uri, valid, target=TARGET, feature_importance=False)
        mc.registry.set_policy(MODEL_NAME, require_approval=True, gates=GATES)
        request = mc.registry.request_transition(
            MODEL_NAME, version.version, "production", comment="best validation AUC of the demo"
        )
    with config_context(user=REVIEWER):
        approved = mc.registry.approve(MODEL_NAME, version.version, comment="gates pass")
        mc.registry.set_alias(MODEL_NAME, "champion", version.version)
    card = _card_path(MODEL_NAME, version.version)
    card.write_text(mc.registry.card(MODEL_NAME, version.version, format="html"), "utf-8")
    return Promotion(
        name=MODEL_NAME,
        version=version.version,
        uri=version.uri,
        stage=approved.to_stage.value,
        metrics={k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float)},
        request_id=request.id,
        requested_by=request.requested_by,
        approved_by=approved.decided_by or REVIEWER,
        card=card,
    )


def _card_path(name: str, version: int) -> Path:
    """Beside a local store (``.modelcycle/cards/``), else in the temporary directory."""
    from modelcycle.config import current_settings, resolve_uri

    settings = current_settings()
    root = resolve_uri(settings.uri, settings.artifacts).artifact_root or ""
    home = Path(root).parent if "://" not in root else Path(tempfile.gettempdir())
    directory = home / "cards"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}-v{version}.html"


def _promotion_document(promotion: Promotion) -> dict[str, Any]:
    return {
        "name": promotion.name,
        "version": promotion.version,
        "uri": promotion.uri,
        "stage": promotion.stage,
        "metrics": promotion.metrics,
        "request_id": promotion.request_id,
        "requested_by": promotion.requested_by,
        "approved_by": promotion.approved_by,
        "card": str(promotion.card),
    }


def session_runs(session: str) -> pd.DataFrame:
    """This session's runs, best validation AUC first, found by a search like any user's."""
    import modelcycle as mc

    return mc.search_runs(
        experiment=EXPERIMENT,
        filter=f"tags.demo_session = '{session}'",
        order_by=[f"metrics.{BEST_METRIC} DESC"],
    )


def next_commands(run_ids: list[str], promotion: Promotion | None = None) -> list[str]:
    """Command lines to explore the runs just made, the best one first, and the model."""
    commands = [
        f'modelcycle runs list -e {EXPERIMENT} -o "metrics.{BEST_METRIC} DESC"',
        f"modelcycle runs show {short_id(run_ids[0])}",
    ]
    if len(run_ids) > 1:
        commands.append(f"modelcycle runs compare {short_id(run_ids[0])} {short_id(run_ids[1])}")
    commands.append("modelcycle experiments list")
    if promotion is not None:
        commands += [
            f"modelcycle models show {promotion.name}",
            f"modelcycle models card {promotion.name} {promotion.version}",
            f"modelcycle lineage {run_ids[0]}",
        ]
    return commands


def summary_document(
    ranked: pd.DataFrame, session: str, seconds: float, commands: list[str]
) -> dict[str, Any]:
    from modelcycle.cli._runs_table import frame_records
    from modelcycle.config import current_settings, resolve_uri

    settings = current_settings()
    records = frame_records(ranked)
    return {
        "experiment": EXPERIMENT,
        "store": resolve_uri(settings.uri, settings.artifacts).url,
        "session": session,
        "seconds": round(seconds, 2),
        "best_run_id": records[0]["id"],
        "runs": [
            {key: record[key] for key in ("id", "name", "params", "metrics")} for record in records
        ],
        "next_commands": commands,
    }


def print_summary(
    ranked: pd.DataFrame, seconds: float, commands: list[str], promotion: Promotion | None = None
) -> None:
    from modelcycle.config import current_settings, resolve_uri

    out = console()
    settings = current_settings()
    store = resolve_uri(settings.uri, settings.artifacts).url
    out.print(
        f"Trained {len(ranked)} models in {seconds:.1f}s as runs of experiment '{EXPERIMENT}'.",
        markup=False,
        highlight=False,
    )
    out.print(f"Store: {store}", markup=False, highlight=False, soft_wrap=True)
    out.print(summary_table(ranked))
    best = ranked.iloc[0]
    out.print(
        f"Best run: {best['run_id']} ({best['name']}), "
        f"{BEST_METRIC} = {best[f'metrics.{BEST_METRIC}']:.4f}",
        markup=False,
        highlight=False,
    )
    if promotion is not None:
        auc = promotion.metrics.get("roc_auc")
        out.print(
            f"Registered {promotion.uri}; evaluated (roc_auc = "
            f"{'-' if auc is None else f'{auc:.4f}'}); gates {', '.join(GATES)} passed; "
            f"production requested by {promotion.requested_by}, approved by "
            f"{promotion.approved_by}; alias champion → version {promotion.version}.",
            markup=False,
            highlight=False,
        )
        out.print(f"Model card: {promotion.card}", markup=False, highlight=False, soft_wrap=True)
    out.print("\nExplore further:")
    for command in commands:
        out.print(f"  {command}", markup=False, highlight=False)


def print_serving(probe: Any) -> None:
    """One paragraph on the served model: traffic, latency, agreement, the server's own count."""
    console().print(
        f"\nServed {probe.uri} at {probe.url}: {probe.requests} one-row requests, "
        f"{probe.errors} errors, p50 {probe.p50_ms:.1f} ms, p99 {probe.p99_ms:.1f} ms; "
        f"{probe.agreeing} answers equal the model's own predictions; the server's /metrics "
        f"counted {probe.metrics_requests:.0f} requests. Serve it yourself with:\n"
        f"  modelcycle serve {probe.uri} --port 8080",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def summary_table(ranked: pd.DataFrame) -> Table:
    from rich.table import Table

    table = Table(header_style="bold")
    for header in ("run", "name", "model", "setting", BEST_METRIC, "val_accuracy", "val_loss"):
        table.add_column(header, justify="right" if header.startswith("val") else "left")
    for position, row in enumerate(ranked.to_dict("records")):
        style = "bold green" if position == 0 else ""
        # Each model family has its own regularization param; the other family's column is NaN.
        setting = next(
            (
                f"{name}={row[f'params.{name}']}"
                for name in ("C", "alpha")
                if isinstance(row.get(f"params.{name}"), str)
            ),
            None,
        )
        table.add_row(
            short_id(row["run_id"]),
            plain(row["name"]),
            plain(row["params.model"]),
            plain(setting),
            *(f"{row[f'metrics.{key}']:.4f}" for key in (BEST_METRIC, "val_accuracy", "val_loss")),
            style=style,
        )
    return table


def _tags(session: str, family: str) -> dict[str, str]:
    return {"source": "modelcycle demo", "family": family, "demo_session": session}


def _log_inputs(run: ActiveRun, split: Split) -> None:
    run.log_input(split.dataset_version, role="train")
    run.log_input(split.dataset_version, role="validation")
