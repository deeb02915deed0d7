"""Dataset names and ``name@version`` references, checked in one place."""

from __future__ import annotations

from modelcycle.errors import InvalidInput
from modelcycle.store.tables.data import DATASET_NAME_LENGTH


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name@3"`` → ``("name", 3)``; ``"name"`` → ``("name", None)`` (the latest).

    Raises:
        InvalidInput: the version is not a positive integer, or the name is invalid.
    """
    name, at, version = ref.rpartition("@") if "@" in ref else (ref, "", "")
    check_name(name)
    if not at:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInput(
            f"dataset reference {ref!r} must be NAME or NAME@VERSION with a version 1, 2, 3…",
            details={"ref": ref},
        )
    return name, int(version)


def check_name(name: str) -> str:
    """Return ``name`` if it can name a dataset; raise ``InvalidInput`` saying why not."""
    if (
        not name
        or name != name.strip()
        or "@" in name
        or len(name) > DATASET_NAME_LENGTH
        or not name.isprintable()
    ):
        raise InvalidInput(
            f"invalid dataset name {name!r}: use 1 to {DATASET_NAME_LENGTH} printable "
            "characters, no '@' and no surrounding spaces",
            details={"name": name},
        )
    return name
