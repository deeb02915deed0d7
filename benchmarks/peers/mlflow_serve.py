"""MLflow's side of the serving benchmark: train and save the model ``mlflow models serve`` serves.

Runs in ``.bench-venvs/mlflow``, never in our venv::

    .bench-venvs/mlflow/bin/python benchmarks/peers/mlflow_serve.py --workdir DIR

It reads the training data the driver wrote (``DIR/X.npy``, ``DIR/y.npy``), fits the same
LogisticRegression as modelcycle's side on the same DataFrame (columns ``f0`` … ``f19``), saves it
with ``mlflow.sklearn.save_model`` and a signature inferred from the data, the way MLflow's
quick-start does, and prints one JSON line: the model directory and its predictions on the check
rows (``DIR/check.npy``), which the driver compares with modelcycle's. The driver starts
``mlflow models serve`` itself, so both servers are timed by the same code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        import mlflow
        import mlflow.sklearn
        import numpy as np
        import pandas as pd
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        features = np.load(args.workdir / "X.npy")
        target = np.load(args.workdir / "y.npy")
        check = np.load(args.workdir / "check.npy")
        columns = [f"f{i}" for i in range(features.shape[1])]
        frame = pd.DataFrame(features, columns=columns)
        model = LogisticRegression(max_iter=1000).fit(frame, target)
        path = args.workdir / "mlflow-model"
        mlflow.sklearn.save_model(
            model,
            str(path),
            signature=infer_signature(frame.head(5), model.predict(frame.head(5))),
            input_example=frame.head(5),
        )
        predictions = model.predict(pd.DataFrame(check, columns=columns)).tolist()
    print(
        json.dumps(
            {
                "tool": "mlflow",
                "version": mlflow.__version__,
                "path": str(path),
                "check": predictions,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
