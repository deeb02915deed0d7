"""Every request format gives the predictions ``model.predict`` gives on the same rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import Saved, client_for

pytestmark = pytest.mark.anyio

Request = Callable[[pd.DataFrame], dict[str, Any]]
"""rows → keyword arguments of ``client.post("/invocations", ...)``."""


def _cells(rows: pd.DataFrame) -> list[list[Any]]:
    return rows.astype(object).to_numpy().tolist()


FORMATS: dict[str, Request] = {
    "dataframe_split": lambda rows: {
        "json": {"dataframe_split": {"columns": list(rows.columns), "data": _cells(rows)}}
    },
    "dataframe_split_reordered": lambda rows: {
        "json": {
            "dataframe_split": {
                "columns": list(rows.columns[::-1]),
                "data": _cells(rows[rows.columns[::-1]]),
            }
        }
    },
    "dataframe_records": lambda rows: {
        "json": {"dataframe_records": rows.astype(object).to_dict("records")}
    },
    "instances_rows": lambda rows: {"json": {"instances": _cells(rows)}},
    "instances_records": lambda rows: {
        "json": {"instances": rows.astype(object).to_dict("records")}
    },
    "inputs_columns": lambda rows: {"json": {"inputs": rows.astype(object).to_dict("list")}},
    "inputs_rows": lambda rows: {"json": {"inputs": _cells(rows)}},
    "csv": lambda rows: {
        "content": rows.to_csv(index=False),
        "headers": {"Content-Type": "text/csv"},
    },
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("model", ["classifier", "regressor", "mixed"])
async def test_every_format_matches_model_predict(
    fmt: str, model: str, request: pytest.FixtureRequest
) -> None:
    saved: Saved = request.getfixturevalue(model)
    expected = saved.model.predict(saved.rows).tolist()
    async with client_for(saved) as http:
        response = await http.post("/invocations", **FORMATS[fmt](saved.rows))
    assert response.status_code == 200, response.text
    got = response.json()["predictions"]
    if model == "regressor":
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    else:
        assert got == expected


@pytest.mark.parametrize("model", ["classifier", "regressor", "mixed"])
async def test_v2_one_tensor_per_column(model: str, request: pytest.FixtureRequest) -> None:
    saved: Saved = request.getfixturevalue(model)
    inputs = []
    for column in saved.rows.columns:
        values = saved.rows[column]
        numeric = pd.api.types.is_numeric_dtype(values)
        inputs.append(
            {
                "name": column,
                "shape": [len(values)],
                "datatype": "FP64" if numeric else "BYTES",
                "data": values.tolist(),
            }
        )
    async with client_for(saved) as http:
        response = await http.post("/v2/models/churn/infer", json={"id": "r-1", "inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "churn" and body["model_version"] == "3" and body["id"] == "r-1"
    (output,) = body["outputs"]
    expected = saved.model.predict(saved.rows)
    assert output["shape"] == [len(saved.rows)]
    if model == "regressor":
        assert output["datatype"] == "FP64"
        np.testing.assert_allclose(output["data"], expected, rtol=1e-12)
    else:
        assert output["data"] == expected.tolist()


async def test_v2_one_matrix_tensor(classifier: Saved) -> None:
    rows = classifier.rows
    tensor = {
        "name": "input-0",
        "shape": list(rows.shape),
        "datatype": "FP32",
        "data": rows.to_numpy(np.float32).reshape(-1).tolist(),
    }
    async with client_for(classifier) as http:
        response = await http.post("/v2/models/churn/versions/3/infer", json={"inputs": [tensor]})
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["datatype"] == "BYTES"  # the class labels are strings
    assert output["data"] == classifier.model.predict(rows.astype(np.float32)).tolist()


async def test_v2_metadata_and_health(client) -> None:
    metadata = (await client.get("/v2/models/churn")).json()
    assert metadata["name"] == "churn"
    assert metadata["versions"] == ["3"]
    assert metadata["platform"] == "modelcycle_sklearn"
    assert [i["name"] for i in metadata["inputs"]] == ["age", "income", "tenure"]
    assert {i["datatype"] for i in metadata["inputs"]} == {"FP64"}
    assert metadata["outputs"] == [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    assert (await client.get("/v2/health/ready")).json() == {"ready": True}
    assert (await client.get("/v2/models/churn/ready")).json() == {"name": "churn", "ready": True}
    server = (await client.get("/v2")).json()
    assert server["name"] == "modelcycle" and server["version"]
    assert (await client.get("/ping")).status_code == 200


async def test_request_id_is_echoed_or_made(client, classifier: Saved) -> None:
    body = {"instances": _cells(classifier.rows.head(1))}
    given = await client.post("/invocations", json=body, headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.post("/invocations", json=body)
    other = await client.post("/invocations", json=body)
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != other.headers["x-request-id"]
    # An id that could split a log line is replaced, not echoed.
    odd = await client.post("/invocations", json=body, headers={"X-Request-Id": "a b"})
    assert odd.headers["x-request-id"] != "a b"
    error = await client.post("/invocations", content=b"{", headers={"X-Request-Id": "e-1"})
    assert error.headers["x-request-id"] == "e-1"


async def test_nullable_column_takes_nulls(tmp_path) -> None:
    """A column saved with a null in its example accepts nulls; the model gets NaN."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from modelcycle.registry.model_format import load_model, save_model

    frame = pd.DataFrame({"a": [1.0, None, 3.0, 4.0] * 10, "b": [0.5, 1.5, 2.5, 3.5] * 10})
    path = tmp_path / "nullable"
    model = HistGradientBoostingRegressor(max_iter=5).fit(frame, frame["b"] * 2)
    save_model(model, path, input_example=frame.head(4))
    saved = Saved(path, load_model(path), frame.head(4))
    async with client_for(saved) as http:
        response = await http.post(
            "/invocations",
            json={"dataframe_split": {"columns": ["a", "b"], "data": [[None, 1.0]]}},
        )
    assert response.status_code == 200, response.text
    expected = saved.model.predict(pd.DataFrame({"a": [np.nan], "b": [1.0]}))
    np.testing.assert_allclose(response.json()["predictions"], expected)
