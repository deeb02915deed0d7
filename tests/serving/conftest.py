"""Models saved once per session, and the app over each, reached in-process through httpx.

Three models cover the request paths: a classifier and a regressor on numeric columns (the
float-array fast path) and a pipeline over a string and a numeric column (the DataFrame path).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelcycle.registry.model_format import LoadedModel, load_model, save_model
from modelcycle.serving.app import ServeOptions, create_app

FEATURES = ["age", "income", "tenure"]


@dataclass(frozen=True)
class Saved:
    """A saved model: its directory, the loaded model and rows to score."""

    path: Path
    model: LoadedModel
    rows: pd.DataFrame


def _numeric_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(np.float64),
            "income": rng.normal(3.0, 1.0, n),
            "tenure": rng.exponential(4.0, n),
        }
    )


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    from sklearn.linear_model import LogisticRegression

    frame = _numeric_frame(300, 0)
    target = np.where(frame["income"] + 0.02 * frame["age"] > 3.8, "churn", "stay")
    path = tmp_path_factory.mktemp("models") / "classifier"
    save_model(LogisticRegression().fit(frame, target), path, input_example=frame.head(5))
    return Saved(path, load_model(path), _numeric_frame(25, 1))


@pytest.fixture(scope="session")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    from sklearn.linear_model import LinearRegression

    frame = _numeric_frame(300, 2)
    target = 2.0 * frame["income"] - 0.1 * frame["age"] + frame["tenure"]
    path = tmp_path_factory.mktemp("models") / "regressor"
    save_model(LinearRegression().fit(frame, target), path, input_example=frame.head(5))
    return Saved(path, load_model(path), _numeric_frame(25, 3))


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """A pipeline over a string column and a numeric one: served through the DataFrame path."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(4)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "plan": rng.choice(["basic", "pro", "team"], n),
                "spend": rng.normal(50.0, 20.0, n),
            }
        )

    train = frame(300)
    target = ((train["plan"] == "basic") & (train["spend"] < 50)).astype(int)
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])],
                    remainder="passthrough",
                ),
            ),
            ("model", LogisticRegression()),
        ]
    )
    path = tmp_path_factory.mktemp("models") / "mixed"
    save_model(pipeline.fit(train, target), path, input_example=train.head(5))
    return Saved(path, load_model(path), frame(20))


def client_for(saved: Saved, *, name: str = "churn", version: str | None = "3", **options: Any):
    """An httpx client talking to a fresh app over ``saved`` in-process."""
    app = create_app(saved.model, name=name, version=version, options=ServeOptions(**options))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(classifier: Saved) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(classifier) as http:
        yield http


def prometheus_sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, matched on the given labels."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")
