"""``HttpDataService``: the data service's reads over a modelcycle server's REST API.

Same names and return types as :class:`~modelcycle.data.service.DataService` for what the server
exposes: ``get``, ``list_datasets``, ``list_versions``, ``files``, ``diff``, ``lineage``, and
``checkout`` / ``read_arrow``, whose files download one by one, each verified against its blake3
digest, into a staging directory renamed onto the destination only when all are in place.
Adding a version is done against the store itself for now (``add`` says so when called).

>>> service = HttpDataService("http://127.0.0.1:5000", token="mct_…")  # doctest: +SKIP
>>> service.get("churn-train@3").row_count  # doctest: +SKIP
7043
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from modelcycle.client._artifacts import fetch_verified, url_segment
from modelcycle.client._http import HttpService
from modelcycle.data.entities import (
    Dataset,
    DatasetDiff,
    DatasetFile,
    DatasetVersion,
    LineageGraph,
)
from modelcycle.errors import AlreadyExists, InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa

_PAGE = 10_000


class HttpDataService(HttpService):
    """Dataset versions and lineage through ``modelcycle server`` (reads)."""

    def get(self, ref: str) -> DatasetVersion:
        """The version ``name@version``, or the latest of ``name``.

        Raises:
            InvalidInput: the reference is malformed.
            NotFound: no such dataset or version.
        """
        name, at, version = ref.rpartition("@") if "@" in ref else (ref, "", "")
        if at and not version.isdigit():
            raise InvalidInput(
                f"dataset reference {ref!r} must be NAME or NAME@VERSION with a version 1, 2, 3…",
                details={"ref": ref},
            )
        path = _dataset(name) + (f"/versions/{version}" if at else "")
        return DatasetVersion.model_validate_json(self._http.request("GET", path).content)

    def list_datasets(self) -> list[Dataset]:
        """Every dataset, by name, with its latest version number and version count."""
        return [Dataset.model_validate(item) for item in self._pages("/datasets", "datasets")]

    def list_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, oldest first.

        Raises:
            NotFound: no dataset has this name.
        """
        path = f"{_dataset(name)}/versions"
        return [DatasetVersion.model_validate(item) for item in self._pages(path, "versions")]

    def files(self, ref: str) -> list[DatasetFile]:
        """The manifest of a version: path, digest and size of each file, by path."""
        return self._files(self.get(ref))

    def _files(self, version: DatasetVersion) -> list[DatasetFile]:
        path = f"{_dataset(version.name)}/versions/{version.version}/files"
        return [DatasetFile.model_validate(item) for item in self._pages(path, "files")]

    def diff(self, a: str, b: str) -> DatasetDiff:
        """What changed from version ``a`` to version ``b`` (files, rows, columns)."""
        before = self.get(a)
        path = f"{_dataset(before.name)}/versions/{before.version}/diff"
        answer = self._http.request("GET", path, params={"to": b})
        return DatasetDiff.model_validate_json(answer.content)

    def lineage(self, target: str) -> LineageGraph:
        """The lineage graph around a version (``name@version`` or ``name``) or a run id.

        Raises:
            NotFound: ``target`` names neither a dataset nor a run.
        """
        answer = self._http.request("GET", "/lineage", params={"target": target})
        return LineageGraph.model_validate_json(answer.content)

    def add(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Not through the server yet: raises ``InvalidInput`` naming what to do instead."""
        raise InvalidInput(
            "adding a dataset version is not available through a modelcycle server yet: point "
            "MODELCYCLE_URI at the store itself (a directory, or a database URL with "
            "MODELCYCLE_ARTIFACTS) and run `modelcycle data add` there",
            details={"operation": "add"},
        )

    def checkout(
        self,
        ref: str,
        dest: str | os.PathLike[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Restore a version's files under ``dest`` (a new or empty directory), all verified.

        Raises:
            AlreadyExists: ``dest`` is a file or a non-empty directory.
            IntegrityError: a file arrived with other bytes; ``dest`` is left as it was.
            NotFound: no such version.
        """
        return self._checkout(self.get(ref), dest, progress)

    def _checkout(
        self,
        version: DatasetVersion,
        dest: str | os.PathLike[str],
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        files = self._files(version)
        target = Path(dest).absolute()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise AlreadyExists(
                f"cannot check out into {str(target)!r}: it exists and is not an empty directory",
                details={"dest": str(target)},
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
        base = f"{_dataset(version.name)}/versions/{version.version}/files"
        try:
            for item in files:
                parts = _safe_parts(item.path)
                url = f"{base}/{'/'.join(url_segment(p) for p in parts)}"
                source = f"file {item.path!r} of {version.ref}"
                fetch_verified(self._http, url, item.digest, staging.joinpath(*parts), source)
                if progress is not None:
                    progress(1)
            if target.exists():
                target.rmdir()
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def read_arrow(self, ref: str) -> pa.Table:
        """A tabular version's table, from verified downloads.

        Raises:
            InvalidInput: the version is not one table.
        """
        from modelcycle._internal.tabular import read_arrow

        version = self.get(ref)
        if version.row_count is None or version.file_count != 1:
            raise InvalidInput(
                f"{version.ref} is not a table: it holds {version.file_count} file(s); check it "
                "out and read its files instead",
                details={"ref": version.ref},
            )
        with tempfile.TemporaryDirectory(prefix="mc-data-") as temp:
            restored = self._checkout(version, Path(temp, "version"))
            [table_file] = [p for p in restored.rglob("*") if p.is_file()]
            return read_arrow(table_file)

    def _pages(self, path: str, key: str) -> Iterator[Mapping[str, Any]]:
        token: str | None = None
        while True:
            params = {"limit": _PAGE} | ({"page_token": token} if token else {})
            page = self._http.request("GET", path, params=params).json()
            yield from page[key]
            token = page.get("next_page_token")
            if token is None:
                return


def _dataset(name: str) -> str:
    if not name:
        raise InvalidInput("a dataset name cannot be empty", details={"name": name})
    return f"/datasets/{url_segment(name)}"


def _safe_parts(path: str) -> tuple[str, ...]:
    """A manifest path's parts, refused if it could land outside the checkout."""
    parts = tuple(path.split("/"))
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidInput(
            f"the server listed a file path {path!r} outside the dataset; nothing was written",
            details={"path": path},
        )
    return parts
