"""Model URIs and the names inside them, checked in one place.

The accepted forms, as MLflow users know them::

    models:/NAME/VERSION     models:/churn/3
    models:/NAME@ALIAS       models:/churn@champion
    models:/NAME/STAGE       models:/churn/production   (also staging, archived, latest)
    runs:/RUN_ID/PATH        runs:/0f3c…/churn           (a model directory logged by a run)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from modelcycle.errors import InvalidInput
from modelcycle.registry.entities import Stage

ACCEPTED_FORMS: Final = (
    "models:/NAME/VERSION",
    "models:/NAME@ALIAS",
    "models:/NAME/STAGE",
    "runs:/RUN_ID/PATH",
)
LATEST: Final = "latest"
# The widths of the registry tables' columns, repeated so parsing a URI needs no SQLAlchemy.
MODEL_NAME_LENGTH: Final = 250
ALIAS_LENGTH: Final = 63

_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# DNS-label-like, as Kubernetes names are: a deployment can be named after an alias.
_ALIAS_RE: Final = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_RUN_ID_RE: Final = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class ModelUri:
    """A parsed URI. ``kind`` says which of ``version``, ``alias``, ``stage`` or ``path`` is set;
    ``stage`` may be ``"latest"`` (the highest version)."""

    kind: Literal["version", "alias", "stage", "run"]
    name: str = ""
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    run_id: str | None = None
    path: str | None = None


def parse_model_uri(uri: str) -> ModelUri:
    """Parse ``uri`` into a :class:`ModelUri`.

    Raises:
        InvalidInput: it is in none of the accepted forms; the message lists them.
    """
    if not isinstance(uri, str):
        raise _malformed(repr(uri), "a model URI is a string")
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").partition("/")
        path = path.strip("/")
        if not _RUN_ID_RE.fullmatch(run_id) or not path or ".." in path.split("/"):
            raise _malformed(uri, "runs:/ takes a full 32-character run id and a path in the run")
        return ModelUri("run", run_id=run_id, path=path)
    if not uri.startswith("models:/"):
        raise _malformed(uri, "it starts with neither models:/ nor runs:/")
    rest = uri.removeprefix("models:/")
    try:
        if "@" in rest:
            name, _, alias = rest.partition("@")
            return ModelUri("alias", name=check_model_name(name), alias=check_alias(alias))
        name, slash, selector = rest.partition("/")
        check_model_name(name)
    except InvalidInput as bad:
        raise _malformed(uri, bad.message) from None
    if not slash or not selector or "/" in selector:
        raise _malformed(uri, "a version, a stage or an @alias must follow the model name")
    if selector.isdigit():
        if int(selector) < 1:
            raise _malformed(uri, "versions are numbered from 1")
        return ModelUri("version", name=name, version=int(selector))
    lowered = selector.lower()
    if lowered == LATEST or lowered in {s.value for s in Stage if s is not Stage.NONE}:
        return ModelUri("stage", name=name, stage=lowered)
    raise _malformed(
        uri, f"{selector!r} is neither a version number nor a stage (staging, production, ...)"
    )


def check_model_name(name: str, shown: str | None = None) -> str:
    """Return ``name`` if it can name a registered model; raise ``InvalidInput`` saying why not."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > MODEL_NAME_LENGTH:
        raise InvalidInput(
            f"invalid model name {name!r}{f' in {shown!r}' if shown else ''}: use 1 to "
            f"{MODEL_NAME_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or "
            "digit",
            details={"name": name},
        )
    return name


def check_alias(alias: str, shown: str | None = None) -> str:
    """Return ``alias`` if it is a valid alias: lowercase, DNS-label-like, not a number."""
    if (
        not isinstance(alias, str)
        or not _ALIAS_RE.fullmatch(alias)
        or len(alias) > ALIAS_LENGTH
        or alias.isdigit()
        or alias == LATEST
    ):
        raise InvalidInput(
            f"invalid alias {alias!r}{f' in {shown!r}' if shown else ''}: use 1 to "
            f"{ALIAS_LENGTH} lowercase letters, digits or '-' (not first or last), not a number "
            f"and not {LATEST!r}, e.g. 'champion'",
            details={"alias": alias},
        )
    return alias


def _malformed(uri: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"malformed model URI {uri!r}: {why}. Accepted forms: {', '.join(ACCEPTED_FORMS)}",
        details={"uri": uri, "accepted": list(ACCEPTED_FORMS)},
    )
