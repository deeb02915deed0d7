"""Bad requests get a 4xx naming the problem, in the one error shape, and the app keeps serving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving.conftest import Saved, client_for

pytestmark = pytest.mark.anyio

GOOD = {"dataframe_split": {"columns": ["age", "income", "tenure"], "data": [[40.0, 3.1, 2.0]]}}


def _split(columns: list[str], data: Any) -> dict[str, Any]:
    return {"json": {"dataframe_split": {"columns": columns, "data": data}}}


# name → (request kwargs, status, words the message must hold)
BAD: dict[str, tuple[dict[str, Any], int, list[str]]] = {
    "missing column": (_split(["age", "income"], [[40.0, 3.1]]), 400, ["missing", "'tenure'"]),
    "extra column": (
        _split(["age", "income", "tenure", "zip"], [[40.0, 3.1, 2.0, 9]]),
        400,
        ["unknown", "'zip'"],
    ),
    "repeated column": (
        _split(["age", "income", "age"], [[40.0, 3.1, 2.0]]),
        400,
        ["missing", "'tenure'"],
    ),
    "string in a float column": (
        _split(["age", "income", "tenure"], [[40.0, "high", 2.0]]),
        400,
        ["'income'", "float64", "string", "row 0"],
    ),
    "string among nulls": (
        _split(["age", "income", "tenure"], [[40.0, None, 2.0], [41.0, 3.0, "x"]]),
        400,
        ["'tenure'", "row 1", "string"],
    ),
    "null in a non-nullable column": (
        _split(["age", "income", "tenure"], [[40.0, 3.0, 2.0], [None, 3.0, 2.0]]),
        400,
        ["'age'", "null", "row 1"],
    ),
    "nested value": (
        _split(["age", "income", "tenure"], [[40.0, [3.0], 2.0]]),
        400,
        ["'income'", "array"],
    ),
    "short row": (_split(["age", "income", "tenure"], [[40.0, 3.0]]), 400, ["row 0", "2 values"]),
    "no rows": (_split(["age", "income", "tenure"], []), 400, ["no rows"]),
    "empty records": ({"json": {"dataframe_records": []}}, 400, ["no rows"]),
    "record lacking a column": (
        {"json": {"dataframe_records": [{"age": 1.0, "income": 2.0}]}},
        400,
        ["missing", "'tenure'", "record 0"],
    ),
    "record with an extra column": (
        {"json": {"instances": [{"age": 1.0, "income": 2.0, "tenure": 1.0, "x": 0}]}},
        400,
        ["unknown", "'x'"],
    ),
    "columns of different lengths": (
        {"json": {"inputs": {"age": [1.0, 2.0], "income": [1.0], "tenure": [1.0, 2.0]}}},
        400,
        ["different numbers"],
    ),
    "empty body": ({"content": b""}, 400, ["empty"]),
    "blank body": ({"content": b" \n"}, 400, ["empty"]),
    "malformed JSON": ({"content": b'{"instances": [[1, 2'}, 400, ["not valid JSON"]),
    "not UTF-8": ({"content": b"\xff\xfe{}"}, 400, ["not valid JSON"]),
    "JSON array at the top": ({"json": [[1, 2, 3]]}, 400, ["JSON object", "dataframe_split"]),
    "unknown format key": ({"json": {"rows": [[1, 2, 3]]}}, 400, ["unknown key", "'rows'"]),
    "two format keys": (
        {"json": {"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}},
        400,
        ["several format keys"],
    ),
    "params": ({"json": {**GOOD, "params": {"k": 1}}}, 400, ["params"]),
    "split without data": (
        {"json": {"dataframe_split": {"columns": ["age"]}}},
        400,
        ["dataframe_split"],
    ),
    "CSV with a wrong column": (
        {"content": "age,income,zip\n1,2,3\n", "headers": {"Content-Type": "text/csv"}},
        400,
        ["missing", "'tenure'"],
    ),
    "CSV with text in a number column": (
        {"content": "age,income,tenure\n1,abc,3\n", "headers": {"Content-Type": "text/csv"}},
        400,
        ["'income'", "string"],
    ),
    "empty CSV": ({"content": "", "headers": {"Content-Type": "text/csv"}}, 400, ["CSV"]),
    "CSV rows longer than the header": (
        # pandas would read the first value as a row label and shift the rest one column left.
        {"content": "age,income,tenure\n5,1,2,3\n", "headers": {"Content-Type": "text/csv"}},
        400,
        ["more values than the header", "age, income, tenure"],
    ),
    "unsupported content type": (
        {"content": b"<rows/>", "headers": {"Content-Type": "application/xml"}},
        415,
        ["application/xml"],
    ),
}


@pytest.mark.parametrize("case", BAD)
async def test_bad_invocation_is_refused_and_serving_goes_on(case: str, client) -> None:
    kwargs, status, words = BAD[case]
    response = await client.post("/invocations", **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] in ("InvalidInput", "UnsupportedMediaType")
    for word in words:
        assert word in error["message"], error["message"]
    assert response.headers["x-request-id"]
    after = await client.post("/invocations", json=GOOD)
    assert after.status_code == 200 and len(after.json()["predictions"]) == 1


V2_BAD: dict[str, tuple[str, Any, int, list[str]]] = {
    "wrong model name": (
        "/v2/models/other/infer",
        {"inputs": []},
        404,
        ["'other'", "'churn'"],
    ),
    "wrong version": ("/v2/models/churn/versions/9/infer", {"inputs": []}, 404, ["'9'"]),
    "no inputs": ("/v2/models/churn/infer", {"inputs": []}, 400, ["no tensors"]),
    "inputs not a list": ("/v2/models/churn/infer", {"inputs": {}}, 400, ["'inputs'"]),
    "tensor lacks data": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64"}]},
        400,
        ["'age'", "'data'"],
    ),
    "unknown datatype": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "age", "shape": [1], "datatype": "FP8", "data": [1]}]},
        400,
        ["FP8"],
    ),
    "shape and data disagree": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3]}]},
        400,
        ["needs 6 values", "holds 3"],
    ),
    "text in an FP64 tensor": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, "a", 3]}]},
        400,
        ["'x'", "FP64"],
    ),
    "value beyond the datatype's range": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP16", "data": [1e10, 1, 1]}]},
        400,
        ["'x'", "FP16", "overflow"],
    ),
    "text as BOOL": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": ["x"]}]},
        400,
        ["'x'", "BOOL data must be booleans"],
    ),
    "a fraction as INT64": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT64", "data": [1, 1.5, 2]}]},
        400,
        ["'x'", "INT64 data must be integers"],
    ),
    "a number written as text in FP64": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": ["1", "2", "3"]}]},
        400,
        ["'x'", "FP64 data must be numbers"],
    ),
    "an integer beyond UINT8": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "UINT8", "data": [1, 300, 2]}]},
        400,
        ["'x'", "UINT8", "[0, 255]"],
    ),
    "numbers as BYTES": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}]},
        400,
        ["'x'", "BYTES data must be strings"],
    ),
    "a number among BYTES": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [2], "datatype": "BYTES", "data": ["a", 1]}]},
        400,
        ["'x'", "BYTES data must be strings"],
    ),
    "a boolean among FP64 numbers": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0, True, 2]}]},
        400,
        ["'x'", "booleans among them"],
    ),
    "an integral float beyond INT8": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT8", "data": [1, 300.0, 2]}]},
        400,
        ["'x'", "INT8", "[-128, 127]"],
    ),
    "matrix of the wrong width": (
        "/v2/models/churn/infer",
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]},
        400,
        ["[1, 2]", "3 columns"],
    ),
    "missing column tensor": (
        "/v2/models/churn/infer",
        {
            "inputs": [
                {"name": "age", "shape": [1], "datatype": "FP64", "data": [1]},
                {"name": "income", "shape": [1], "datatype": "FP64", "data": [1]},
            ]
        },
        400,
        ["missing", "'tenure'"],
    ),
}


@pytest.mark.parametrize("case", V2_BAD)
async def test_bad_v2_request_is_refused_and_serving_goes_on(case: str, client) -> None:
    path, body, status, words = V2_BAD[case]
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    for word in words:
        assert word in response.json()["error"]["message"]
    after = await client.post("/invocations", json=GOOD)
    assert after.status_code == 200


async def test_metadata_of_an_unknown_model_is_404(client) -> None:
    response = await client.get("/v2/models/other")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


async def test_unknown_path_and_method_use_the_error_shape(client) -> None:
    missing = await client.get("/v3/anything")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    wrong = await client.get("/invocations")
    assert wrong.status_code == 405
    assert "GET" in wrong.json()["error"]["message"]


async def test_body_over_the_limit_is_413(classifier: Saved) -> None:
    async with client_for(classifier, max_body_bytes=1024) as http:
        big = {"instances": [[40.0, 3.1, 2.0]] * 200}
        response = await http.post("/invocations", json=big)
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "PayloadTooLarge" and "1,024" in error["message"]

        async def chunks():  # no Content-Length: the limit holds while streaming
            for _ in range(10):
                yield b" " * 512

        streamed = await http.post("/invocations", content=chunks())
        assert streamed.status_code == 413
        after = await http.post("/invocations", json=GOOD)
        assert after.status_code == 200


async def test_nan_from_the_model_is_null_not_invalid_json(regressor: Saved) -> None:
    class NanModel:
        signature = regressor.model.signature
        has_proba = False
        flavor = "test"

        def predict(self, data: Any) -> Any:
            raise AssertionError("the numeric path must be used")

        def predict_array(self, array: Any) -> Any:
            import numpy as np

            return np.array([np.nan] * len(array))

    import httpx

    from modelcycle.serving.app import create_app

    app = create_app(NanModel(), name="nan")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        response = await c.post("/invocations", json=GOOD)
    assert response.status_code == 200
    assert response.content == b'{"predictions":[null]}'


async def test_a_failing_model_answers_500_and_serving_goes_on(regressor: Saved) -> None:
    import httpx
    import numpy as np

    from modelcycle.serving.app import create_app

    class Flaky:
        signature = regressor.model.signature
        has_proba = False
        flavor = "test"
        calls = 0

        def predict(self, data: Any) -> Any:
            raise AssertionError("the numeric path must be used")

        def predict_array(self, array: Any) -> Any:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("out of luck")
            return np.zeros(len(array))

    app = create_app(Flaky(), name="flaky", version="1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        failed = await c.post("/invocations", json=GOOD)
        assert failed.status_code == 500
        assert "out of luck" in failed.json()["error"]["message"]
        assert (await c.post("/invocations", json=GOOD)).json() == {"predictions": [0.0]}
