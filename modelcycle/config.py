"""Settings, read once at the edge, and where the platform lives.

``Settings`` is the one configuration tree. It has two sources: the environment (names derived from
the path: ``tracking.flush_interval`` is ``MODELCYCLE_TRACKING_FLUSH_INTERVAL``) and an optional
``modelcycle.toml`` in the working directory. Library code never reads ``os.environ``; it asks
:func:`current_settings`, which tests and notebooks override with :func:`config_context`.

``resolve_uri`` turns ``MODELCYCLE_URI`` / ``MODELCYCLE_ARTIFACTS`` into a :class:`StoreLocation`:

==========================  =========================================  ========================
``MODELCYCLE_URI``          metadata database                          artifact root (default)
==========================  =========================================  ========================
unset                       ``sqlite:///./.modelcycle/modelcycle.db``  ``./.modelcycle/objects``
a path ``DIR``              ``sqlite:///DIR/modelcycle.db``            ``DIR/objects``
``sqlite:///FILE``          that file                                  ``objects/`` beside it
``postgresql+psycopg://…``  that server                                ``MODELCYCLE_ARTIFACTS``
``http(s)://…``             a modelcycle server                        the server's
==========================  =========================================  ========================
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from modelcycle.errors import InvalidInput

__all__ = [
    "ObjectsSettings",
    "ServerSettings",
    "Settings",
    "StoreLocation",
    "TrackingSettings",
    "config_context",
    "current_settings",
    "is_server_uri",
    "resolve_uri",
]

DEFAULT_HOME = ".modelcycle"
DATABASE_FILE = "modelcycle.db"
OBJECTS_DIR = "objects"


class TrackingSettings(BaseModel):
    """How the metric buffer batches writes."""

    flush_interval: float = Field(1.0, gt=0, description="Seconds between background flushes.")
    flush_size: int = Field(
        10_000, gt=0, description="Buffered points that trigger a flush before the interval ends."
    )
    capture_environment: bool = Field(
        True, description="Record git commit, Python, packages digest, host, CPU and memory."
    )


class ObjectsSettings(BaseModel):
    """How the content-addressed object store writes."""

    fsync: bool = Field(
        True,
        description=(
            "Flush every new object to disk before it is renamed into place and recorded, so a "
            "power cut cannot leave a recorded object with lost bytes. Turning it off makes "
            "large `data add` runs several times faster; reads still verify every hash."
        ),
    )


class ServerSettings(BaseModel):
    """How `modelcycle server` guards its API."""

    auth: bool = Field(
        True, description="Require an API token on every request but health checks."
    )
    max_body_mb: float = Field(
        64, gt=0, description="Largest JSON request body in MiB; artifact uploads stream."
    )
    max_batch: int = Field(
        100_000, gt=0, description="Most metric points, params or tags in one request."
    )


class Settings(BaseSettings):
    """The whole configuration of a modelcycle process."""

    model_config = SettingsConfigDict(
        env_prefix="MODELCYCLE_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        toml_file="modelcycle.toml",
        extra="ignore",
        frozen=True,
    )

    uri: str | None = Field(None, description="Where the platform lives (see resolve_uri).")
    artifacts: str | None = Field(None, description="Artifact root for a database URI.")
    user: str | None = Field(
        None,
        description=(
            "Who the SDK acts as on an embedded store (requests, approvals, audit); defaults to "
            "the operating-system user. A server ignores it and uses the token's user."
        ),
    )
    token: SecretStr | None = Field(
        None, description="API token the HTTP client sends as `Authorization: Bearer`."
    )
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    objects: ObjectsSettings = Field(default_factory=ObjectsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Two sources only, the environment winning over the file.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


@dataclass(frozen=True)
class StoreLocation:
    """Where metadata and artifacts of one platform live."""

    kind: Literal["sql", "http"]
    url: str
    """SQLAlchemy URL of the metadata database, or the server's base URL."""
    artifact_root: str | None
    """Local directory or fsspec URL of the object store; ``None`` for a server."""

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def is_server_uri(uri: str | None) -> bool:
    """Whether ``uri`` names a modelcycle server (``http(s)://``), without touching the disk.

    >>> is_server_uri("https://mc.example:5000"), is_server_uri("/tmp/mc")
    (True, False)
    """
    return (uri or "").lower().startswith(("http://", "https://"))


def resolve_uri(uri: str | None = None, artifacts: str | None = None) -> StoreLocation:
    """Turn a platform URI into a :class:`StoreLocation`.

    Args:
        uri: ``None`` for ``./.modelcycle``, a directory, a ``sqlite:///`` or
            ``postgresql+psycopg://`` URL, or ``http(s)://host:port`` of a server.
        artifacts: artifact root; required for a server database, optional otherwise.

    Raises:
        InvalidInput: the URI's scheme is unknown, or a database URL has no artifact root.

    >>> resolve_uri("/tmp/mc").url
    'sqlite:////tmp/mc/modelcycle.db'
    """
    if not uri:
        uri = DEFAULT_HOME
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in ("http", "https"):
        return StoreLocation("http", uri.rstrip("/"), None)
    if scheme.startswith("sqlite"):
        db_path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not db_path or db_path == ":memory:":
            raise InvalidInput(
                f"SQLite URI {uri!r} names no file; use sqlite:///path/to/modelcycle.db "
                "(an in-memory database cannot be shared by the buffer's writer).",
                details={"uri": uri},
            )
        root = artifacts or str(Path(db_path).resolve().parent / OBJECTS_DIR)
        return StoreLocation("sql", f"sqlite:///{Path(db_path).resolve()}", root)
    if scheme.startswith(("postgresql", "postgres")):
        if not artifacts:
            raise InvalidInput(
                f"database URI {_redact(uri)!r} needs an artifact root: set MODELCYCLE_ARTIFACTS "
                "to a directory or an fsspec URL such as s3://bucket/modelcycle.",
                details={"uri": _redact(uri)},
            )
        if scheme in ("postgresql", "postgres"):
            uri = "postgresql+psycopg" + uri[len(scheme) :]
        return StoreLocation("sql", uri, artifacts)
    if scheme:
        raise InvalidInput(
            f"unknown scheme {scheme!r} in MODELCYCLE_URI {_redact(uri)!r}; use a directory, "
            "sqlite:///FILE, postgresql+psycopg://… or http(s)://host:port.",
            details={"scheme": scheme},
        )
    home = Path(uri).expanduser().resolve()
    root = artifacts or str(home / OBJECTS_DIR)
    return StoreLocation("sql", f"sqlite:///{home / DATABASE_FILE}", root)


def _redact(uri: str) -> str:
    """Hide a password in a database URL before it goes into a message."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else uri


_current: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "modelcycle_settings", default=None
)
_process_default: Settings | None = None


def current_settings() -> Settings:
    """The settings in force: a :func:`config_context` override, else the environment (read
    once)."""
    override = _current.get()
    if override is not None:
        return override
    global _process_default
    if _process_default is None:
        _process_default = Settings()
    return _process_default


def reset_settings_cache() -> None:
    """Forget the settings read from the environment (tests that change it call this)."""
    global _process_default
    _process_default = None


@contextlib.contextmanager
def config_context(**overrides: Any) -> Iterator[Settings]:
    """Use settings with ``overrides`` inside the block and restore the previous ones on exit.

    >>> with config_context(uri="/tmp/elsewhere") as settings:
    ...     settings.uri
    '/tmp/elsewhere'
    """
    base = current_settings().model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    settings = Settings.model_validate(base)
    token = _current.set(settings)
    try:
        yield settings
    finally:
        _current.reset(token)
