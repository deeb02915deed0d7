"""Garbage collection: remove the objects nothing references any more.

The object store cannot know what is referenced; the metadata database does. The caller collects
every digest its tables mention and hands the set to :func:`sweep`, which works on any
:class:`~modelcycle.store.objects.ObjectStore`.

A writer stores an object first and records the reference afterwards, in a separate transaction, so
an object may be briefly unreferenced while it is very much wanted. The grace period protects it:
only objects older than ``min_age_seconds`` are swept, and storing content that already exists
refreshes its age. The same grace period applies to temp files, so a write in progress is never
cut short while one abandoned by a crash is eventually removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from modelcycle.errors import InvalidInput, NotFound
from modelcycle.store.objects._base import ObjectStore

__all__ = ["GcResult", "sweep"]


@dataclass(frozen=True, slots=True)
class GcResult:
    """What a sweep removed, or would remove when it is a dry run.

    Attributes:
        removed: unreferenced objects older than the grace period.
        freed_bytes: their total size.
        kept: objects left in place, referenced or still within the grace period.
        temp_removed: temp files of writes abandoned longer ago than the grace period.
    """

    removed: int
    freed_bytes: int
    kept: int
    temp_removed: int


def sweep(
    objects: ObjectStore,
    referenced: AbstractSet[str],
    *,
    min_age_seconds: float = 3600,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> GcResult:
    """Delete the objects that are not referenced and older than the grace period.

    Args:
        objects: the store to sweep.
        referenced: every digest the metadata still mentions.
        min_age_seconds: grace period; objects and temp files modified more recently are kept.
        dry_run: count what would be removed, and remove nothing.
        progress: called with 1 for each object examined, e.g. to advance a progress bar.

    Returns:
        The counts of what was removed (or would be, for a dry run) and kept.

    Raises:
        InvalidInput: ``min_age_seconds`` is negative.
        StoreUnavailable: the store cannot be listed or written.

    Example:
        >>> from modelcycle.store.objects import open_object_store
        >>> store = open_object_store("memory://doctest-gc/objects")
        >>> keep = store.put_bytes(b"keep").digest
        >>> drop = store.put_bytes(b"drop").digest
        >>> sweep(store, {keep}, min_age_seconds=0)
        GcResult(removed=1, freed_bytes=4, kept=1, temp_removed=0)
    """
    if min_age_seconds < 0:
        raise InvalidInput(
            f"min_age_seconds must be 0 or more, got {min_age_seconds}",
            details={"min_age_seconds": min_age_seconds},
        )
    cutoff = time.time() - min_age_seconds
    removed = freed_bytes = kept = 0
    for digest, modified in objects.iter_objects():
        if progress is not None:
            progress(1)
        if digest in referenced or modified > cutoff:
            kept += 1
            continue
        try:
            size = objects.size(digest)
        except NotFound:
            continue  # another sweep removed it since the listing
        if not dry_run:
            objects.delete(digest)
        removed += 1
        freed_bytes += size
    temp_removed = 0
    for name, modified in objects.iter_temp():
        if modified <= cutoff:
            if not dry_run:
                objects.delete_temp(name)
            temp_removed += 1
    return GcResult(removed=removed, freed_bytes=freed_bytes, kept=kept, temp_removed=temp_removed)
