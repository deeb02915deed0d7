"""Factories the registry tests share: a small fitted classifier and its saved model directory.

The classifier is a logistic regression on 200 rows of scikit-learn's bundled breast-cancer data
(no download), as a DataFrame so the saved model has a signature with column names.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

TARGET = "malignant"


@functools.cache
def frame() -> pd.DataFrame:
    """200 labelled rows: 5 feature columns, a ``group`` column to slice by, the target."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    data = bunch.frame.iloc[:200, :5].copy()
    data.columns = [f"f{i}" for i in range(5)]
    data["group"] = ["a" if i % 3 else "b" for i in range(len(data))]
    data[TARGET] = bunch.target.iloc[:200].to_numpy()
    return data


def features() -> pd.DataFrame:
    return frame().drop(columns=[TARGET, "group"])


@functools.cache
def classifier(c: float = 1.0) -> Any:
    """A fitted pipeline; a smaller ``c`` gives a different (worse) model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)).fit(
        features(), frame()[TARGET]
    )


def saved_model(directory: Path, c: float = 1.0) -> Path:
    """The classifier saved as a model directory (sklearn flavor) under ``directory``."""
    from modelcycle.registry.model_format import save_model

    save_model(classifier(c), directory, input_example=features().head(5))
    return directory
