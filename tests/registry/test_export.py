"""Export writers: the Docker context is complete and consistent; the manifests are valid
Kubernetes objects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import modelcycle
from modelcycle.errors import AlreadyExists, IntegrityError, InvalidInput, PermissionDenied
from modelcycle.registry.export import write_docker_context, write_k8s_manifests
from modelcycle.registry.model_format import load_model, read_manifest, save_model


class Doubler:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame.to_numpy().sum(axis=1) * 2


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    model = LogisticRegression().fit(frame, (frame["a"] > 9).astype(int))
    save_model(model, tmp_path / "model", input_example=frame.head())
    return tmp_path / "model"


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_docker_context_is_complete(model_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "ctx"
    written = write_docker_context(model_dir, dest, model_uri="models:/churn/3")
    names = {path.relative_to(dest).as_posix() for path in written}
    assert {"Dockerfile", "requirements.txt", ".dockerignore", "model/model.json"} <= names
    assert all(path.is_file() for path in written)
    # The copied model is the same model: it verifies and loads.
    assert load_model(dest / "model").flavor == "sklearn"

    steps = _instructions((dest / "Dockerfile").read_text())
    kinds = [kind for kind, _ in steps]
    assert kinds[0] == "FROM"
    python = ".".join(read_manifest(model_dir).python_version.split(".")[:2])
    assert steps[0][1] == f"python:{python}-slim"
    ignored = [
        line for line in (dest / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]  # fmt: skip
    for kind, args in steps:
        if kind == "COPY":
            source = args.split()[0]
            assert (dest / source).exists(), f"COPY source {source} is not in the context"
            assert source not in ignored
    assert ("RUN", "pip install --no-cache-dir -r requirements.txt") in steps
    assert ("EXPOSE", "8080") in steps
    assert any(kind == "HEALTHCHECK" and "/v2/health/ready" in args for kind, args in steps)
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[0] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    [entrypoint] = [json.loads(args) for kind, args in steps if kind == "ENTRYPOINT"]
    assert entrypoint[:7] == [
        "modelcycle", "serve", "/opt/model", "--host", "0.0.0.0", "--port", "8080"
    ]  # fmt: skip
    assert entrypoint[7:] == ["--name", "churn"]
    [healthcheck] = [args for kind, args in steps if kind == "HEALTHCHECK"]
    json.loads(healthcheck.split("CMD", 1)[1])  # exec form: valid JSON

    requirements = (dest / "requirements.txt").read_text().splitlines()
    assert requirements[:-1] == read_manifest(model_dir).requirements
    assert requirements[-1] == f"modelcycle[server]=={modelcycle.__version__}"
    assert all("==" in line for line in requirements)


def test_docker_context_port(model_dir: Path, tmp_path: Path) -> None:
    write_docker_context(model_dir, tmp_path / "ctx", model_uri="/some/dir", port=9000)
    steps = _instructions((tmp_path / "ctx" / "Dockerfile").read_text())
    assert ("EXPOSE", "9000") in steps
    [entrypoint] = [json.loads(args) for kind, args in steps if kind == "ENTRYPOINT"]
    assert entrypoint[-2:] == ["--port", "9000"]
    with pytest.raises(InvalidInput, match="not a TCP port"):
        write_docker_context(model_dir, tmp_path / "other", model_uri="x", port=0)


def test_docker_context_refuses_non_empty_dest_unless_overwrite(
    model_dir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "ctx"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    (dest / "model").mkdir()
    (dest / "model" / "stale.bin").write_text("old")
    with pytest.raises(AlreadyExists, match="not empty"):
        write_docker_context(model_dir, dest, model_uri="models:/churn/1")
    write_docker_context(model_dir, dest, model_uri="models:/churn/1", overwrite=True)
    assert (dest / "notes.txt").read_text() == "keep me"
    assert not (dest / "model" / "stale.bin").exists()
    assert load_model(dest / "model").flavor == "sklearn"


def test_docker_context_refuses_a_tampered_model(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "model.skops").write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="model.skops"):
        write_docker_context(model_dir, tmp_path / "ctx", model_uri="models:/churn/1")
    assert not (tmp_path / "ctx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_docker_context_of_a_pyfunc_needs_trust(tmp_path: Path) -> None:
    save_model(Doubler(), tmp_path / "model", input_example=pd.DataFrame({"a": [1.0]}))
    with pytest.raises(PermissionDenied, match="trusted=True"):
        write_docker_context(tmp_path / "model", tmp_path / "ctx", model_uri="models:/d/1")
    write_docker_context(tmp_path / "model", tmp_path / "ctx", model_uri="models:/d/1",
                         trusted=True)  # fmt: skip
    steps = _instructions((tmp_path / "ctx" / "Dockerfile").read_text())
    [entrypoint] = [json.loads(args) for kind, args in steps if kind == "ENTRYPOINT"]
    assert entrypoint[-1] == "--trusted"


def test_docker_context_of_the_onnx_twin_installs_no_scikit_learn(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    model = LogisticRegression().fit(frame, (frame["a"] > 9).astype(int))
    save_model(model, tmp_path / "model", input_example=frame.head(), onnx=True)
    dest = tmp_path / "ctx"
    write_docker_context(tmp_path / "model", dest, model_uri="models:/churn/3", runtime="onnx")

    requirements = (dest / "requirements.txt").read_text().splitlines()
    assert {line.split("==")[0] for line in requirements} == {
        "numpy", "onnxruntime", "modelcycle[server]"
    }  # fmt: skip
    assert set(requirements[:-1]) <= set(read_manifest(tmp_path / "model").requirements)
    steps = _instructions((dest / "Dockerfile").read_text())
    [entrypoint] = [json.loads(args) for kind, args in steps if kind == "ENTRYPOINT"]
    assert entrypoint[-4:] == ["--name", "churn", "--runtime", "onnx"]
    assert any(kind == "LABEL" and 'io.modelcycle.runtime="onnx"' in a for kind, a in steps)
    # What the image's entrypoint loads, loaded the same way here.
    assert load_model(dest / "model", runtime="onnx").predict(frame).tolist() == (
        model.predict(frame).tolist()
    )


def test_docker_context_of_a_missing_twin_or_runtime_is_refused(
    model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="has no ONNX twin"):
        write_docker_context(model_dir, tmp_path / "ctx", model_uri="m", runtime="onnx")
    with pytest.raises(InvalidInput, match="unknown runtime 'gpu'"):
        write_docker_context(model_dir, tmp_path / "ctx", model_uri="m", runtime="gpu")
    assert not (tmp_path / "ctx").exists()


def test_k8s_manifests_are_valid_objects(tmp_path: Path) -> None:
    written = write_k8s_manifests(tmp_path / "k8s", name="churn", image="reg.local/churn:3")
    assert [p.name for p in written] == ["deployment.yaml", "hpa.yaml", "service.yaml"]
    docs = {p.name: yaml.safe_load(p.read_text()) for p in written}

    deployment = docs["deployment.yaml"]
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    assert deployment["metadata"]["name"] == "churn"
    selector = deployment["spec"]["selector"]["matchLabels"]
    template_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= template_labels.items()
    assert deployment["spec"]["replicas"] == 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "reg.local/churn:3"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True

    service = docs["service.yaml"]
    assert (service["apiVersion"], service["kind"]) == ("v1", "Service")
    assert service["spec"]["selector"] == selector
    [port] = service["spec"]["ports"]
    assert port["targetPort"] == "http"

    hpa = docs["hpa.yaml"]
    assert (hpa["apiVersion"], hpa["kind"]) == ("autoscaling/v2", "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "churn",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_k8s_options(tmp_path: Path) -> None:
    written = write_k8s_manifests(
        tmp_path, name="m-1", image="m:1", port=9000, replicas=3, min_replicas=1,
        max_replicas=4, cpu_target=50,
    )  # fmt: skip
    docs = {p.name: yaml.safe_load(p.read_text()) for p in written}
    container = docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == 9000
    assert docs["deployment.yaml"]["spec"]["replicas"] == 3
    assert docs["hpa.yaml"]["spec"]["minReplicas"] == 1
    with pytest.raises(AlreadyExists, match="deployment.yaml"):
        write_k8s_manifests(tmp_path, name="m-1", image="m:1")
    write_k8s_manifests(tmp_path, name="m-1", image="m:2", overwrite=True)
    again = yaml.safe_load((tmp_path / "deployment.yaml").read_text())
    assert again["spec"]["template"]["spec"]["containers"][0]["image"] == "m:2"


@pytest.mark.parametrize("name", ["Churn", "churn_model", "-churn", "churn-", "", "a" * 64, "a.b"])
def test_k8s_name_must_be_a_dns_label(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="DNS-1123"):
        write_k8s_manifests(tmp_path, name=name, image="x:1")
    assert list(tmp_path.iterdir()) == []


def test_k8s_bad_bounds_and_image(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="replica bounds"):
        write_k8s_manifests(tmp_path, name="m", image="x:1", min_replicas=5, max_replicas=2)
    with pytest.raises(InvalidInput, match="not an image reference"):
        write_k8s_manifests(tmp_path, name="m", image="bad image")
