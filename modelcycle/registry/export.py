"""Packaging: a Docker build context and Kubernetes manifests for serving one model.

Pure writers: they read a model directory and write files, and know nothing of the store.
``modelcycle models export MODEL_URI --docker DIR --k8s DIR`` calls them with the verified
directory of a registered version.

The Docker context holds the model, verified again after the copy so that what gets baked into
the image is exactly what the registry approved, and installs the manifest's pinned
requirements. The image runs as a non-root user, and its entrypoint is ``modelcycle serve``.
The Kubernetes manifests probe the serving app's ``/v2/health/ready`` and ``/v2/health/live``
endpoints.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from modelcycle._internal.hashing import hash_file
from modelcycle.errors import AlreadyExists, InvalidInput, PermissionDenied
from modelcycle.registry.model_format import (
    MANIFEST_FILE,
    ModelManifest,
    runtime_requirements,
    verify_model_dir,
)

__all__ = ["write_docker_context", "write_k8s_manifests"]

MODEL_DIR_IN_IMAGE = "/opt/model"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_UID = 10001
_MODEL_URI_NAME = re.compile(r"models:/([^/@]+)")


def write_docker_context(
    model_dir: Path,
    dest: Path,
    *,
    model_uri: str,
    port: int = 8080,
    overwrite: bool = False,
    trusted: bool = False,
    runtime: str = "native",
) -> list[Path]:
    """Write a Docker build context that serves the model in ``model_dir``.

    Files: ``model/`` (the model directory), ``requirements.txt`` (the manifest's pins plus
    ``modelcycle[server]``), ``Dockerfile`` and ``.dockerignore``. Build and run it with
    ``docker build -t churn:3 DEST && docker run -p 8080:8080 churn:3``.

    Args:
        model_dir: a model directory; verified before and after the copy.
        dest: the context directory; must not exist or be empty unless ``overwrite``.
        model_uri: where the model came from (recorded in the image's labels; a
            ``models:/NAME…`` URI also names the model on ``/v2/models/NAME``).
        port: the port the server listens on inside the container.
        overwrite: replace the files this writes in a non-empty ``dest``.
        trusted: allow a model whose flavor runs code when loaded (``pyfunc``); the image's
            server then starts with ``--trusted``.
        runtime: ``onnx`` serves the model's ONNX twin (``--runtime onnx``) and installs only
            onnxruntime and NumPy of its pins: no scikit-learn, SciPy or skops in the image.

    Returns:
        The files written, sorted.

    Raises:
        AlreadyExists: ``dest`` is not empty and ``overwrite`` is false.
        IntegrityError: the model directory does not match its manifest.
        PermissionDenied: the model needs ``trusted=True``.
        InvalidInput: ``port`` is not a TCP port, or ``runtime`` is unknown or ``onnx`` for a
            model without a twin.
    """
    from modelcycle import __version__
    from modelcycle.registry.flavors import get_flavor

    _check_port(port)
    dest = Path(dest)
    _check_dest(dest, overwrite)
    manifest = verify_model_dir(model_dir)
    pins = runtime_requirements(manifest, runtime)
    needs_trust = runtime == "native" and get_flavor(manifest.flavor).requires_trust
    if needs_trust and not trusted:
        raise PermissionDenied(
            f"the model is a {manifest.flavor} model, which runs code when loaded; export it "
            "with trusted=True (--trusted) only if you trust its source",
            details={"flavor": manifest.flavor},
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex}"
    try:
        shutil.copytree(model_dir, scratch / "model")
        verify_model_dir(scratch / "model", manifest_digest=hash_file(model_dir / MANIFEST_FILE))
        requirements = [*pins, f"modelcycle[server]=={__version__}"]
        (scratch / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (scratch / "Dockerfile").write_text(
            _dockerfile(
                manifest, model_uri=model_uri, port=port, trusted=needs_trust, runtime=runtime
            )
        )
        (scratch / ".dockerignore").write_text(_DOCKERIGNORE)
        written = [dest / path.relative_to(scratch) for path in _files(scratch)]
        _move_into(scratch, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(written)


def write_k8s_manifests(
    dest: Path,
    *,
    name: str,
    image: str,
    port: int = 8080,
    replicas: int = 2,
    min_replicas: int = 2,
    max_replicas: int = 10,
    cpu_target: int = 70,
    cpu_request: str = "250m",
    memory_request: str = "256Mi",
    memory_limit: str = "512Mi",
    overwrite: bool = False,
) -> list[Path]:
    """Write ``deployment.yaml``, ``service.yaml`` and ``hpa.yaml`` for serving an image.

    Apply them with ``kubectl apply -f DEST``. The Deployment's pods are probed on
    ``/v2/health/ready`` (readiness) and ``/v2/health/live`` (liveness); the Service exposes
    port 80 → the container's port; the HorizontalPodAutoscaler keeps the average CPU use near
    ``cpu_target`` percent of the request between ``min_replicas`` and ``max_replicas``.

    Args:
        name: the Kubernetes name of every object: a DNS-1123 label (lowercase letters, digits
            and ``-``, at most 63 characters).
        image: the container image (``registry.example.com/churn:3``).

    Returns:
        The three files, sorted.

    Raises:
        InvalidInput: a bad name, image, port or replica bounds.
        AlreadyExists: one of the files exists and ``overwrite`` is false.
    """
    import yaml

    _check_name(name)
    _check_port(port)
    if not image or any(char.isspace() for char in image):
        raise InvalidInput(f"image {image!r} is not an image reference", details={"image": image})
    if not 1 <= min_replicas <= max_replicas or replicas < 1 or not 1 <= cpu_target:
        raise InvalidInput(
            "replica bounds must satisfy 1 <= min_replicas <= max_replicas, replicas >= 1 and "
            f"cpu_target >= 1 (got replicas={replicas}, min_replicas={min_replicas}, "
            f"max_replicas={max_replicas}, cpu_target={cpu_target})",
            details={"min_replicas": min_replicas, "max_replicas": max_replicas},
        )
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "modelcycle"}
    documents = {
        "deployment.yaml": _deployment(
            name, image, port, replicas, labels, cpu_request, memory_request, memory_limit
        ),
        "service.yaml": _service(name, port, labels),
        "hpa.yaml": _hpa(name, min_replicas, max_replicas, cpu_target, labels),
    }
    dest = Path(dest)
    taken = [file for file in documents if (dest / file).exists()]
    if taken and not overwrite:
        raise AlreadyExists(
            f"{dest / taken[0]} already exists; pass overwrite=True (--overwrite) to replace it",
            details={"path": str(dest / taken[0])},
        )
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for file, document in documents.items():
        temp = dest / f".{file}.tmp-{uuid.uuid4().hex}"
        temp.write_text(yaml.safe_dump(document, sort_keys=False))
        os.replace(temp, dest / file)
        written.append(dest / file)
    return sorted(written)


def _dockerfile(
    manifest: ModelManifest, *, model_uri: str, port: int, trusted: bool, runtime: str
) -> str:
    major_minor = ".".join(manifest.python_version.split(".")[:2])
    command = ["modelcycle", "serve", MODEL_DIR_IN_IMAGE, "--host", "0.0.0.0", "--port", str(port)]
    match = _MODEL_URI_NAME.match(model_uri)
    if match:
        command += ["--name", match.group(1)]
    if trusted:
        command.append("--trusted")
    if runtime != "native":
        command += ["--runtime", runtime]
    probe = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/v2/health/ready', timeout=4)"
    )
    entrypoint = ", ".join(f'"{part}"' for part in command)
    return f"""\
# Serves {model_uri} with `modelcycle serve`; written by `modelcycle models export --docker`.
FROM python:{major_minor}-slim

LABEL org.opencontainers.image.title="{_label(model_uri)}" \\
      io.modelcycle.model-uri="{_label(model_uri)}" \\
      io.modelcycle.flavor="{manifest.flavor}" \\
      io.modelcycle.runtime="{runtime}"

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid {_UID} --shell /usr/sbin/nologin modelcycle

WORKDIR /app
COPY requirements.txt requirements.txt
RUN pip install --no-cache-dir -r requirements.txt

COPY model {MODEL_DIR_IN_IMAGE}

USER {_UID}
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\
    CMD ["python", "-c", "{probe}"]
ENTRYPOINT [{entrypoint}]
"""


_DOCKERIGNORE = """\
# Only the model, requirements.txt and the Dockerfile belong in the image.
**/__pycache__
**/*.pyc
**/.DS_Store
.git
"""


def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _deployment(
    name: str,
    image: str,
    port: int,
    replicas: int,
    labels: dict[str, str],
    cpu_request: str,
    memory_request: str,
    memory_limit: str,
) -> dict[str, Any]:
    def probe(path: str, delay: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "initialDelaySeconds": delay,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }

    container = {
        "name": "model",
        "image": image,
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": cpu_request, "memory": memory_request},
            "limits": {"memory": memory_limit},
        },
        "readinessProbe": probe("/v2/health/ready", 5),
        "livenessProbe": probe("/v2/health/live", 15),
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": _UID},
                    "containers": [container],
                },
            },
        },
    }


def _service(name: str, port: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _hpa(
    name: str, min_replicas: int, max_replicas: int, cpu_target: int, labels: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_target},
                    },
                }
            ],
        },
    }


def _check_name(name: str) -> None:
    if len(name) > 63 or not _DNS_LABEL.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a Kubernetes name: use at most 63 lowercase letters, digits and "
            "'-', starting and ending with a letter or digit (a DNS-1123 label)",
            details={"name": name},
        )


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port {port} is not a TCP port (1-65535)", details={"port": port})


def _check_dest(dest: Path, overwrite: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise AlreadyExists(f"{dest} exists and is not a directory", details={"path": str(dest)})
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise AlreadyExists(
            f"{dest} is not empty; pass overwrite=True (--overwrite) to replace its context",
            details={"path": str(dest)},
        )


def _files(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def _move_into(scratch: Path, dest: Path) -> None:
    """Put the finished context in place: one rename when ``dest`` is new, else entry by entry
    (each replaced entry is removed first, so no stale model file survives)."""
    if not dest.exists() or not any(dest.iterdir()):
        if dest.exists():
            dest.rmdir()
        os.rename(scratch, dest)
        return
    for entry in scratch.iterdir():
        target = dest / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.rename(entry, target)
