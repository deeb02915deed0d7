"""``modelcycle models …``: registered models, versions, aliases, stages, approvals, cards and
export.

Commands act as ``MODELCYCLE_USER`` (else the operating-system user); that name is recorded on
every alias move, request and approval. A refused promotion exits with ``GateFailed``'s code
(10), an approval by the requester with ``PermissionDenied``'s (6).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from modelcycle.cli._output import JsonFlag, console, format_time, plain, print_json

if TYPE_CHECKING:
    from modelcycle.registry.entities import ModelVersion, TransitionRequest

app = typer.Typer(
    help=(
        "The model registry: list models and versions, move aliases, promote through stages "
        "with approvals and metric gates, write model cards, export for serving."
    ),
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="A registered model's name.")]
VersionArgument = Annotated[
    int, typer.Argument(metavar="VERSION", help="A version number (1, 2, 3…).", min=1)
]
CommentOption = Annotated[
    str | None, typer.Option("--comment", "-m", help="Why; recorded with the decision.")
]


@app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """List registered models with their latest and production versions and aliases.

    JSON: {"models": [{"name", "description", "latest_version", "production_version",
    "aliases": {alias: version}, "tags", "policy", "created_at", "updated_at"}]}.
    """
    from rich.table import Table

    import modelcycle as mc

    found = mc.registry.list_models()
    if as_json:
        print_json({"models": [m.model_dump(mode="json") for m in found]})
        return
    if not found:
        console().print("No registered models yet; run.log_model(model, name=…) registers one.")
        return
    table = Table(header_style="bold")
    for header in ("name", "latest", "production", "aliases", "updated", "description"):
        table.add_column(header)
    for model in found:
        table.add_row(
            plain(model.name),
            plain(model.latest_version),
            plain(model.production_version),
            plain(", ".join(f"{a}→{v}" for a, v in model.aliases.items()) or None),
            format_time(model.updated_at, seconds=False),
            plain(model.description),
        )
    console().print(table)


@app.command("show")
def show_model(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Show a model: description, policy, aliases, tags and its newest versions.

    JSON: {"model": {…}, "versions": [version, …] (newest first, at most 20)}.
    """
    import modelcycle as mc

    model = mc.registry.get_model(name)
    versions = mc.registry.list_versions(name, limit=20)
    if as_json:
        print_json(
            {
                "model": model.model_dump(mode="json"),
                "versions": [v.model_dump(mode="json") for v in versions],
            }
        )
        return
    out = console()
    out.print(plain(f"Model {model.name}", "bold"))
    out.print(plain(f"  description: {model.description or '-'}"))
    out.print(plain(f"  created: {format_time(model.created_at)} by {model.created_by or '-'}"))
    aliases = ", ".join(f"{a} → {v}" for a, v in model.aliases.items()) or "-"
    out.print(plain(f"  aliases: {aliases}"))
    if model.tags:
        out.print(plain(f"  tags: {', '.join(f'{k}={v}' for k, v in model.tags.items())}"))
    if model.policy is None:
        out.print("  policy: none (moves apply at once)")
    else:
        policy = model.policy
        out.print(
            plain(
                f"  policy: approval {'required' if policy.require_approval else 'not required'}"
                f"; gates: {'; '.join(policy.gates) or 'none'}; archive previous production: "
                f"{'yes' if policy.archive_previous else 'no'}"
            )
        )
    out.print(_versions_table(versions))


@app.command("versions")
def list_versions(name: NameArgument, as_json: JsonFlag = False) -> None:
    """List every version of a model, newest first.

    JSON: {"versions": [{"name", "version", "stage", "aliases", "run_id", "code_commit",
    "flavor", "manifest_digest", "datasets", "created_by", "created_at", …}]}.
    """
    import modelcycle as mc

    versions = mc.registry.list_versions(name)
    if as_json:
        print_json({"versions": [v.model_dump(mode="json") for v in versions]})
        return
    console().print(_versions_table(versions))


@app.command("alias")
def alias(
    name: NameArgument,
    alias_name: Annotated[
        str, typer.Argument(metavar="ALIAS", help="e.g. champion, challenger (lowercase, -).")
    ],
    version: Annotated[
        int | None,
        typer.Argument(
            metavar="[VERSION]", help="The version it points to (not with --delete).", min=1
        ),
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias instead.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Point NAME@ALIAS at a version (the move is recorded), or remove it with --delete.

    JSON: the version the alias now points to, or {"deleted": ALIAS}.
    """
    import modelcycle as mc
    from modelcycle.errors import InvalidInput

    if delete:
        if version is not None:
            raise InvalidInput("give either a VERSION or --delete, not both")
        mc.registry.delete_alias(name, alias_name)
        if as_json:
            print_json({"name": name, "deleted": alias_name})
        else:
            console().print(plain(f"Removed alias {name}@{alias_name}."))
        return
    if version is None:
        raise InvalidInput(
            f"give the VERSION {name}@{alias_name} should point to, or --delete to remove it"
        )
    record = mc.registry.set_alias(name, alias_name, version)
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        console().print(plain(f"models:/{name}@{alias_name} → version {record.version}."))


@app.command("transition")
def transition(
    name: NameArgument,
    version: VersionArgument,
    stage: Annotated[
        str, typer.Argument(metavar="STAGE", help="none, staging, production or archived.")
    ],
    comment: CommentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Move a version to a stage; a promotion to production checks the model's gates and, if
    the policy requires approval, waits for `models approve`.

    JSON: the request {"id", "name", "version", "from_stage", "to_stage", "status"
    (applied|pending), "requested_by", …}.
    """
    import modelcycle as mc

    request = mc.registry.request_transition(name, version, stage, comment=comment)
    _report_request(request, as_json)


@app.command("approve")
def approve(
    name: NameArgument,
    version: VersionArgument,
    comment: CommentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve the version's pending request and apply it (not by its requester).

    JSON: the request, status "applied".
    """
    import modelcycle as mc

    _report_request(mc.registry.approve(name, version, comment=comment), as_json)


@app.command("reject")
def reject(
    name: NameArgument,
    version: VersionArgument,
    comment: CommentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject (or, as its requester, withdraw) the version's pending request.

    JSON: the request, status "rejected".
    """
    import modelcycle as mc

    _report_request(mc.registry.reject(name, version, comment=comment), as_json)


@app.command("policy")
def policy(
    name: NameArgument,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            "--gate",
            "-g",
            help="A metric gate for production, e.g. 'roc_auc >= 0.85' or 'roc_auc >= "
            "champion'; repeat for several.",
        ),
    ] = None,
    require_approval: Annotated[
        bool,
        typer.Option(
            "--require-approval/--no-approval",
            help="Whether a promotion to production waits for a second person.",
        ),
    ] = True,
    archive_previous: Annotated[
        bool,
        typer.Option(
            "--archive-previous/--keep-previous",
            help="Whether entering production archives the version that was there.",
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Set the model's promotion policy (replacing the previous one).

    JSON: the model, with "policy": {"require_approval", "gates", "archive_previous"}.
    """
    import modelcycle as mc

    model = mc.registry.set_policy(
        name,
        require_approval=require_approval,
        gates=gate or (),
        archive_previous=archive_previous,
    )
    if as_json:
        print_json(model.model_dump(mode="json"))
        return
    assert model.policy is not None
    console().print(
        plain(
            f"Policy of {name}: approval {'required' if require_approval else 'not required'}; "
            f"gates: {'; '.join(model.policy.gates) or 'none'}."
        )
    )


@app.command("card")
def card(
    name: NameArgument,
    version: VersionArgument,
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="OUT", help="Write the card as an HTML page to OUT."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a version's model card as Markdown, or write it as HTML with --html OUT.

    JSON: {"name", "version", "format", "path" (with --html) or "markdown"}.
    """
    import modelcycle as mc
    from modelcycle.quality._html import write_page

    if html is not None:
        path = write_page(html, mc.registry.card(name, version, format="html"))
        if as_json:
            print_json({"name": name, "version": version, "format": "html", "path": str(path)})
        else:
            console().print(plain(f"Wrote the model card of {name} version {version} to {path}."))
        return
    text = mc.registry.card(name, version)
    if as_json:
        print_json({"name": name, "version": version, "format": "markdown", "markdown": text})
    else:
        console().out(text, highlight=False)


@app.command("export")
def export(
    model_uri: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_URI", help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/PATH…"
        ),
    ],
    docker: Annotated[
        Path | None,
        typer.Option("--docker", metavar="DIR", help="Write a Docker build context to DIR."),
    ] = None,
    k8s: Annotated[
        Path | None,
        typer.Option(
            "--k8s", metavar="DIR", help="Write Deployment, Service and HPA manifests to DIR."
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="The image the Kubernetes manifests run (NAME:VERSION)."),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="The serving port.", min=1, max=65535)
    ] = 8080,
    trusted: Annotated[
        bool,
        typer.Option(
            "--trusted",
            help="Allow a model whose format runs code when loaded (pyfunc): only for models "
            "from a source you trust.",
        ),
    ] = False,
    runtime: Annotated[
        Literal["native", "onnx"],
        typer.Option(
            "--runtime",
            help="onnx: the image serves the model's ONNX twin (modelcycle serve --runtime "
            "onnx) and installs onnxruntime instead of scikit-learn, SciPy and skops.",
        ),
    ] = "native",
    as_json: JsonFlag = False,
) -> None:
    """Export a model for serving: a Docker build context (Dockerfile, pinned requirements, the
    model, an entrypoint running `modelcycle serve`) and/or Kubernetes manifests.

    JSON: {"model_uri", "docker": [files], "k8s": [files]}.
    """
    import modelcycle as mc
    from modelcycle.errors import InvalidInput

    if docker is None and k8s is None:
        raise InvalidInput("give --docker DIR, --k8s DIR or both")
    written: dict[str, Any] = {"model_uri": model_uri, "docker": [], "k8s": []}
    if docker is not None:
        written["docker"] = [
            str(p)
            for p in mc.registry.export_docker(
                model_uri, docker, port=port, trusted=trusted, runtime=runtime
            )
        ]
    if k8s is not None:
        written["k8s"] = [
            str(p) for p in mc.registry.export_k8s(model_uri, k8s, image=image, port=port)
        ]
    if as_json:
        print_json(written)
        return
    out = console()
    for kind, key, where in (
        ("Docker build context", "docker", docker),
        ("Kubernetes manifests", "k8s", k8s),
    ):
        if where is not None:
            out.print(plain(f"{kind} in {where}: {len(written[key])} files"))
            for path in written[key]:
                out.print(plain(f"  {path}"))
    if docker is not None:
        out.print(plain(f"Build it with: docker build -t IMAGE {docker}"))


def _versions_table(versions: list[ModelVersion]) -> Any:
    from rich.table import Table

    table = Table(header_style="bold")
    for header in ("version", "stage", "aliases", "run", "flavor", "created", "by"):
        table.add_column(header)
    for item in versions:
        table.add_row(
            str(item.version),
            plain(item.stage.value, "green" if item.stage.value == "production" else ""),
            plain(", ".join(item.aliases) or None),
            plain(item.run_id[:8] if item.run_id else None),
            plain(item.flavor),
            format_time(item.created_at, seconds=False),
            plain(item.created_by),
        )
    return table


def _report_request(request: TransitionRequest, as_json: bool) -> None:
    if as_json:
        print_json(request.model_dump(mode="json"))
        return
    where = f"{request.name} version {request.version}"
    if request.status.value == "pending":
        message = (
            f"Requested {where}: {request.from_stage.value} → {request.to_stage.value} "
            f"(request {request.id}, by {request.requested_by}); it waits for another person: "
            f"modelcycle models approve {request.name} {request.version}"
        )
    elif request.status.value == "rejected":
        message = f"Rejected request {request.id} for {where} ({request.decided_by})."
    else:
        message = (
            f"{where} is now in {request.to_stage.value} "
            f"(from {request.from_stage.value}; request {request.id})."
        )
    console().print(plain(message))
