"""What a run records about where it ran: code version, interpreter, packages, machine.

Computed once per process and working directory: listing installed packages and asking git
take tens of milliseconds, and a process that starts thousands of runs pays that once.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import blake3

_GIT_TIMEOUT_S = 5


def capture_environment() -> dict[str, Any]:
    """The environment record of a run started now, in this process and directory."""
    return {**_process_environment(), **_git_state(os.getcwd())}


@functools.cache
def _process_environment() -> dict[str, Any]:
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": _total_memory(),
        "packages_digest": _packages_digest(),
        "entry_point": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else None,
    }


def _total_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _packages_digest() -> str:
    """A blake3 digest of the sorted ``name==version`` list: equal digests, equal packages."""
    pins = sorted(
        f"{dist.metadata['Name']}=={dist.version}".lower()
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    )
    return blake3.blake3("\n".join(pins).encode()).hexdigest()


@functools.cache
def _git_state(directory: str) -> dict[str, Any]:
    """The commit checked out in ``directory`` and whether the work tree differs from it."""
    try:
        commit = _git(directory, "rev-parse", "HEAD")
        dirty = bool(_git(directory, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


def _git(directory: str, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_S,
        check=True,
    )
    return completed.stdout.strip()
