"""Where the prediction log's Parquet files live, and how they are written and read.

Layout under the artifact root (Hive-style, so Spark, DuckDB and pyarrow datasets read it as a
partitioned table too)::

    predictions/deployment=<name>/day=YYYY-MM-DD/part-<uuid>.parquet

A local file is written under a temporary name in its final directory and renamed into place, so
a reader never sees half a file; an object store (``s3://``, ``gs://``, ...) makes the upload
visible only when it completes, which gives the same guarantee. Paths handed to the index are
relative to the root.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelcycle.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable

if TYPE_CHECKING:
    import pyarrow as pa

PREFIX = "predictions"
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
"""A deployment name is a path segment and a metric label: letters, digits, ``.``, ``_``, ``-``."""
COMPRESSION = "zstd"


def check_deployment(name: Any) -> str:
    """``name`` if it is a valid deployment name.

    Raises:
        InvalidInput: it is not a string of 1 to 63 letters, digits, ``.``, ``_`` or ``-``
            starting with a letter or digit.
    """
    if not isinstance(name, str) or not DEPLOYMENT_NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid deployment name {name!r:.80}: use 1 to 63 letters, digits, '.', '_' or '-', "
            "starting with a letter or a digit",
            details={"deployment": str(name)[:80]},
        )
    return name


def relative_path(deployment: str, day: str) -> str:
    """A new file's path relative to the artifact root."""
    return f"{PREFIX}/deployment={deployment}/day={day}/part-{uuid.uuid4().hex}.parquet"


class PredictionFiles:
    """The prediction log's files under one artifact root (a local path or an fsspec URL).

    Args:
        root: the store's artifact root.
        fsync: flush a local file to disk before renaming it into place, so the index never names
            a file a power cut could truncate (``Settings.objects.fsync``, as the object store).
    """

    def __init__(self, root: str, *, fsync: bool = True) -> None:
        self.root = root
        self._fsync = fsync
        scheme, separator, rest = root.partition("://")
        self._local: Path | None = None
        if not separator:
            self._local = Path(root)
        elif scheme.lower() == "file":
            self._local = Path(rest)
        self._fs: Any = None
        self._fs_root = ""

    def write(self, table: pa.Table, relative: str) -> None:
        """Write ``table`` at ``relative``, whole or not at all."""
        import pyarrow.parquet as pq

        if self._local is not None:
            target = self._local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                with open(temp, "wb") as sink:
                    pq.write_table(table, sink, compression=COMPRESSION)
                    if self._fsync:
                        sink.flush()
                        os.fsync(sink.fileno())
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            return
        fs, root = self._filesystem()
        path = f"{root}/{relative}"
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, "wb") as sink:
            pq.write_table(table, sink, compression=COMPRESSION)

    def read(self, relative: str, columns: list[str] | None = None) -> pa.Table:
        """The table in the file at ``relative`` (only ``columns`` when given).

        Raises:
            NotFound: the index names a file that is gone (deleted by hand).
            IntegrityError: the file is not Parquet any more (truncated or overwritten).
            StoreUnavailable: the file cannot be read.
        """
        try:
            if self._local is not None:
                return _read_columns(self._local / relative, None, columns)
            fs, root = self._filesystem()
            return _read_columns(f"{root}/{relative}", fs, columns)
        except FileNotFoundError as exc:
            raise NotFound(
                f"prediction log file {relative!r} is indexed but missing under {self.root}",
                details={"path": relative},
            ) from exc
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot read prediction log file {relative!r}: {exc}", details={"path": relative}
            ) from exc
        except ValueError as exc:  # pyarrow's ArrowInvalid: no Parquet footer
            raise IntegrityError(
                f"prediction log file {relative!r} under {self.root} is not a readable Parquet "
                f"file (truncated or overwritten): {exc}",
                details={"path": relative},
            ) from exc

    def remove(self, relative: str) -> None:
        """Delete a file written but never indexed; missing is fine."""
        if self._local is not None:
            (self._local / relative).unlink(missing_ok=True)
            return
        fs, root = self._filesystem()
        try:
            fs.rm(f"{root}/{relative}")
        except FileNotFoundError:
            pass

    def _filesystem(self) -> tuple[Any, str]:
        if self._fs is None:
            import fsspec

            try:
                self._fs, root = fsspec.core.url_to_fs(self.root)
            except (ImportError, ValueError) as exc:
                raise InvalidInput(
                    f"cannot open the artifact root {self.root!r} for the prediction log: {exc}",
                    details={"root": self.root},
                ) from exc
            self._fs_root = str(root).rstrip("/")
        return self._fs, self._fs_root


def _read_columns(path: Any, fs: Any, columns: list[str] | None) -> pa.Table:
    import pyarrow.parquet as pq

    # ParquetFile reads exactly one file: read_table would build a dataset and could add
    # partition columns parsed from the path.
    if fs is None:
        with pq.ParquetFile(str(path)) as parquet:
            return _read_present(parquet, columns)
    with fs.open(path, "rb") as handle, pq.ParquetFile(handle) as parquet:
        return _read_present(parquet, columns)


def _read_present(parquet: Any, columns: list[str] | None) -> pa.Table:
    if columns is not None:
        # A file written before a column existed lacks it; read what it has.
        present = set(parquet.schema_arrow.names)
        columns = [c for c in columns if c in present]
    return parquet.read(columns=columns)
