"""Metric gates of a promotion policy: ``"auc >= 0.85"``, ``"log_loss <= champion"``.

A gate compares one metric of the candidate version with a number, or with the same metric of
the current champion (the version aliased ``champion``, else the one in production). With no
champion yet, a champion gate passes and says so: the first model has nothing to beat.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from modelcycle.errors import GateFailed, InvalidInput

CHAMPION: Final = "champion"
_OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_GATE_RE: Final = re.compile(
    r"\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.:/-]*)\s*(?P<op>>=|<=|==|>|<)\s*(?P<threshold>\S+)\s*"
)


@dataclass(frozen=True)
class Gate:
    """One parsed gate; ``threshold`` is a number, or ``None`` for the champion's value."""

    text: str
    metric: str
    op: str
    threshold: float | None


@dataclass(frozen=True)
class GateOutcome:
    """How a version fared against one gate."""

    gate: str
    metric: str
    op: str
    value: float | None
    threshold: float | None
    champion_value: float | None
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "metric": self.metric,
            "op": self.op,
            "value": self.value,
            "threshold": self.threshold,
            "champion_value": self.champion_value,
            "passed": self.passed,
            "note": self.note,
        }


def parse_gate(text: str) -> Gate:
    """Parse ``"metric OP number"`` or ``"metric OP champion"``.

    Raises:
        InvalidInput: the text is in neither form.
    """
    match = _GATE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _bad_gate(text)
    raw = match["threshold"]
    if raw.lower() == CHAMPION:
        threshold = None
    else:
        try:
            threshold = float(raw)
        except ValueError:
            raise _bad_gate(text) from None
        if not math.isfinite(threshold):
            raise _bad_gate(text)
    return Gate(text.strip(), match["metric"], match["op"], threshold)


def check_gates(gates: Sequence[str]) -> tuple[str, ...]:
    """The gates as stored (stripped), each parsed once so a bad one is refused when set."""
    return tuple(parse_gate(gate).text for gate in gates)


def evaluate_gates(
    gates: Sequence[str],
    metrics: Mapping[str, float],
    champion: Mapping[str, float] | None,
) -> list[GateOutcome]:
    """Every gate's outcome for a version with ``metrics``, against ``champion``'s metrics."""
    outcomes = []
    for text in gates:
        gate = parse_gate(text)
        value = metrics.get(gate.metric)
        compare = _OPERATORS[gate.op]
        if gate.threshold is None:
            target = None if champion is None else champion.get(gate.metric)
            if champion is None:
                outcomes.append(_outcome(gate, value, None, None, True, "no champion yet"))
                continue
            if target is None:
                outcomes.append(
                    _outcome(gate, value, None, None, True, "the champion has no such metric")
                )
                continue
            passed = value is not None and compare(value, target)
            outcomes.append(_outcome(gate, value, target, target, passed))
            continue
        passed = value is not None and compare(value, gate.threshold)
        note = "" if value is not None else "the version has no such metric"
        outcomes.append(_outcome(gate, value, gate.threshold, None, passed, note))
    return outcomes


def require_passed(
    outcomes: Sequence[GateOutcome], *, name: str, version: int, known: Sequence[str]
) -> None:
    """Raise ``GateFailed`` naming each failed gate with its numbers.

    Args:
        known: the metrics the version has, listed when a gate's metric is missing.
    """
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return
    reasons = []
    for outcome in failed:
        if outcome.value is None:
            reasons.append(
                f"{outcome.gate}: version {version} has no metric {outcome.metric!r} "
                f"(it has: {', '.join(sorted(known)) or 'none'}); evaluate it with mc.evaluate"
            )
        elif outcome.champion_value is not None:
            reasons.append(
                f"{outcome.gate}: {outcome.metric} = {outcome.value:.6g} is not "
                f"{outcome.op} the champion's {outcome.champion_value:.6g}"
            )
        else:
            reasons.append(
                f"{outcome.gate}: {outcome.metric} = {outcome.value:.6g} is not "
                f"{outcome.op} {outcome.threshold:.6g}"
            )
    raise GateFailed(
        f"model {name!r} version {version} fails its production gate"
        f"{'s' if len(failed) > 1 else ''}: " + "; ".join(reasons),
        details={
            "name": name,
            "version": version,
            "gates": [o.to_dict() for o in outcomes],
            "failed": [o.gate for o in failed],
        },
    )


def _outcome(
    gate: Gate,
    value: float | None,
    threshold: float | None,
    champion_value: float | None,
    passed: bool,
    note: str = "",
) -> GateOutcome:
    return GateOutcome(
        gate.text, gate.metric, gate.op, value, threshold, champion_value, passed, note
    )


def _bad_gate(text: object) -> InvalidInput:
    return InvalidInput(
        f"invalid gate {text!r}: write 'METRIC OP NUMBER' or 'METRIC OP champion' with OP one of "
        f"{', '.join(_OPERATORS)}, e.g. 'auc >= 0.85' or 'auc >= champion'",
        details={"gate": str(text)},
    )
