"""Model cards: one page per version saying what it is for, what it was trained on, how it
scores (overall, per slice, across a sensitive group), what it accepts, where it came from and
who moved it where.

``collect`` gathers the facts from the registry and tracking tables; ``render`` writes them as
Markdown or as a self-contained HTML page. Every value from user data is escaped: ``|`` and line
breaks in Markdown cells, everything in HTML (through ``quality._html.escape``).

(The module is not named ``card``: ``mc.registry.card`` is the function, and importing a
submodule of the same name would replace it on the package.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from modelcycle.errors import InvalidInput, NotFound
from modelcycle.quality import _html
from modelcycle.registry.entities import (
    ModelEvaluation,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
)
from modelcycle.registry.service import RegistryService
from modelcycle.tracking.entities import Run

SECTIONS = (
    "Purpose",
    "Training data",
    "Metrics",
    "Slices and fairness",
    "Signature",
    "Lineage",
    "Approvals and transitions",
)
_MAX_METRICS = 60


@dataclass(frozen=True)
class CardData:
    """Everything a card shows, read in one go."""

    model: RegisteredModel
    version: ModelVersion
    run: Run | None
    evaluation: ModelEvaluation | None
    events: Sequence[RegistryEvent]
    gates: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def collect(service: RegistryService, name: str, version: int) -> CardData:
    """The facts of ``name`` version ``version``.

    Raises:
        NotFound: no such model or version.
    """
    from modelcycle.tracking.service import TrackingService

    record = service.get_model_version(name, version)
    run = None
    if record.run_id is not None:
        try:
            run = TrackingService(service.store).get_run(record.run_id)
        except NotFound:  # purged since; the card says so
            run = None
    evaluations = service.list_evaluations(name, version)
    return CardData(
        model=service.get_registered_model(name),
        version=record,
        run=run,
        evaluation=evaluations[-1] if evaluations else None,
        events=service.list_events(name, version=version),
        gates=service.check_gates(name, version),
    )


def render(data: CardData, format: Literal["markdown", "html"] | str = "markdown") -> str:
    """The card as Markdown or HTML.

    Raises:
        InvalidInput: an unknown format.
    """
    sections = _sections(data)
    title = f"Model card: {data.version.name} version {data.version.version}"
    if format == "markdown":
        return _markdown(title, sections)
    if format == "html":
        return _html_page(title, sections)
    raise InvalidInput(
        f"unknown card format {format!r}; use 'markdown' or 'html'", details={"format": format}
    )


# A section is a list of blocks: ("text", str) or ("table", headers, rows).
Block = tuple[Any, ...]


def _sections(data: CardData) -> list[tuple[str, list[Block]]]:
    version, model = data.version, data.model
    purpose = version.description or model.description or "No description was given."
    status_rows = [
        ("stage", version.stage.value),
        ("aliases", ", ".join(version.aliases) or "-"),
        ("flavor", version.flavor),
        ("registered", f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by or '-'}"),
        ("manifest digest", version.manifest_digest),
        *sorted(version.tags.items()),
    ]
    return [
        ("Purpose", [("text", purpose), ("table", ("field", "value"), status_rows)]),
        ("Training data", _datasets(version)),
        ("Metrics", _metrics(data)),
        ("Slices and fairness", _slices(data.evaluation)),
        ("Signature", _signature(version.signature)),
        ("Lineage", _lineage(data)),
        ("Approvals and transitions", _history(data.events)),
    ]


def _datasets(version: ModelVersion) -> list[Block]:
    if not version.datasets:
        return [("text", "No dataset versions were recorded for this version's run.")]
    rows = [(d.dataset, d.version, d.role) for d in version.datasets]
    return [("table", ("dataset", "version", "role"), rows)]


def _metrics(data: CardData) -> list[Block]:
    blocks: list[Block] = []
    if data.evaluation is not None:
        evaluation = data.evaluation
        overall = evaluation.result.get("metrics")
        values = overall if isinstance(overall, Mapping) else evaluation.metrics
        scalar = [(k, _number(v)) for k, v in values.items() if _is_number(v)]
        blocks.append(
            (
                "text",
                f"Evaluation {evaluation.id} on {evaluation.dataset or 'data passed in memory'}"
                f" ({evaluation.created_at:%Y-%m-%d %H:%M} UTC, run {evaluation.run_id or '-'}).",
            )
        )
        blocks.append(("table", ("metric", "value"), scalar[:_MAX_METRICS]))
    elif data.run is not None and data.run.metrics:
        blocks.append(("text", f"No evaluation is attached; latest metrics of run {data.run.id}."))
        rows = [(k, _number(v)) for k, v in sorted(data.run.metrics.items())]
        blocks.append(("table", ("metric", "value"), rows[:_MAX_METRICS]))
    else:
        blocks.append(("text", "No metrics: evaluate it with mc.evaluate(uri, data, target=…)."))
    if data.gates:
        rows = [
            (
                g["gate"],
                "-" if g["value"] is None else _number(g["value"]),
                "pass" if g["passed"] else "FAIL",
                g.get("note") or "",
            )
            for g in data.gates
        ]
        blocks.append(("text", "Production gates of the model's policy, checked now:"))
        blocks.append(("table", ("gate", "value", "outcome", "note"), rows))
    return blocks


def _slices(evaluation: ModelEvaluation | None) -> list[Block]:
    if evaluation is None:
        return [("text", "No evaluation is attached, so no slices or fairness measures.")]
    blocks: list[Block] = []
    for key, title in (("slices", "Metrics per slice"), ("fairness", "Fairness")):
        value = evaluation.result.get(key)
        if not value:
            continue
        blocks.append(("text", f"{title}:"))
        blocks.extend(_structure(value))
    return blocks or [("text", "The evaluation was run without slice_by or sensitive columns.")]


def _structure(value: Any) -> list[Block]:
    """Tables for the shapes evaluation results take: a list of records, a mapping of records,
    or a flat mapping; anything else as JSON text."""
    if isinstance(value, Sequence) and value and all(isinstance(v, Mapping) for v in value):
        headers = list(dict.fromkeys(k for record in value for k in record))
        rows = [tuple(_cell(record.get(h)) for h in headers) for record in value]
        return [("table", tuple(headers), rows)]
    if isinstance(value, Mapping) and value:
        nested = [v for v in value.values() if isinstance(v, Mapping)]
        if len(nested) == len(value) and all(
            isinstance(inner, Mapping) for v in nested for inner in v.values()
        ):  # e.g. slices: column → value → metrics, one table per column
            blocks: list[Block] = []
            for key, inner in value.items():
                blocks.append(("text", f"By {key}:"))
                blocks.extend(_structure(inner))
            return blocks
        if nested and len(nested) < len(value):  # scalars and sub-tables, e.g. fairness
            scalars = {k: v for k, v in value.items() if not isinstance(v, Mapping)}
            blocks = _structure(scalars)
            for key, inner in value.items():
                if isinstance(inner, Mapping):
                    blocks.append(("text", f"{key}:"))
                    blocks.extend(_structure(inner))
            return blocks
        if all(isinstance(v, Mapping) for v in value.values()):
            inner = list(dict.fromkeys(k for v in value.values() for k in v))
            rows = [(str(k), *(_cell(v.get(h)) for h in inner)) for k, v in value.items()]
            return [("table", ("", *inner), rows)]
        return [("table", ("name", "value"), [(str(k), _cell(v)) for k, v in value.items()])]
    return [("text", json.dumps(value, default=str))]


def _signature(signature: Mapping[str, Any] | None) -> list[Block]:
    if not signature:
        return [("text", "No signature: the model accepts any columns.")]
    blocks: list[Block] = []
    for key in ("inputs", "outputs"):
        part = signature.get(key)
        if part:
            blocks.append(("text", f"{key.capitalize()}:"))
            blocks.extend(_structure(part))
    return blocks or _structure(dict(signature))


def _lineage(data: CardData) -> list[Block]:
    version, run = data.version, data.run
    rows: list[tuple[str, str]] = [("code commit", version.code_commit or "-")]
    if version.run_id is None:
        rows.insert(0, ("run", "- (registered without a run)"))
    elif run is None:
        rows.insert(0, ("run", f"{version.run_id} (no longer in the store)"))
    else:
        rows[:0] = [
            ("run", f"{run.id} ({run.name})"),
            ("experiment", run.experiment),
            ("status", run.status.value),
        ]
        rows.extend((f"param {k}", v) for k, v in sorted(run.params.items()))
    rows.extend((f"data ({d.role})", d.ref) for d in version.datasets)
    return [("table", ("", ""), rows)]


def _history(events: Sequence[RegistryEvent]) -> list[Block]:
    if not events:
        return [("text", "No history yet.")]
    rows = [(f"{e.at:%Y-%m-%d %H:%M:%S}", e.kind, e.actor, _describe(e.details)) for e in events]
    return [("table", ("time (UTC)", "event", "by", "details"), rows)]


def _describe(details: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in details.items() if v not in (None, "", []) and k != "gates"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _markdown(title: str, sections: list[tuple[str, list[Block]]]) -> str:
    lines = [f"# {_md_text(title)}", ""]
    for heading, blocks in sections:
        lines += [f"## {heading}", ""]
        for block in blocks:
            if block[0] == "text":
                lines += [_md_text(block[1]), ""]
                continue
            _, headers, rows = block
            lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            lines.append("|" + "---|" * len(headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def _html_page(title: str, sections: list[tuple[str, list[Block]]]) -> str:
    parts = []
    for heading, blocks in sections:
        parts.append(f"<h2>{_html.escape(heading)}</h2>")
        for block in blocks:
            if block[0] == "text":
                parts.append(f"<p>{_html.escape(block[1])}</p>")
            else:
                parts.append(_html.table(block[1], block[2]))
    return _html.page(title, "".join(parts))


def _md_text(text: str) -> str:
    # A line starting with '#', '<' or '|' would become a heading, HTML or a table row.
    return "\n".join(
        "\\" + line if line[:1] in ("#", "<", "|") else line for line in str(text).splitlines()
    )


def _md_cell(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split()) or " "


def _cell(value: Any) -> str:
    if _is_number(value):
        return _number(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return "-" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
