"""Shapes, sizes and data of the data benchmark, shared by the driver and every peer's workload.

Stdlib only at import time, so the DVC venv (which has no numpy) can import the sizes; the frame
generator imports numpy when called (the driver's venv and Evidently's both have it).

The drift frames have 20 numeric and 5 categorical columns. The current frame differs from the
reference in exactly :data:`SHIFTED` (four numeric columns and one categorical column, each by a
margin that any drift test notices at these sizes); every other column is drawn from the same
distribution with other random draws. Two numeric columns have 1 % missing values on both sides.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

NUMERIC = tuple(f"num_{i:02d}" for i in range(20))
CATEGORICAL = tuple(f"cat_{i}" for i in range(5))
COLUMNS = NUMERIC + CATEGORICAL
SHIFTED = ("num_00", "num_01", "num_02", "num_03", "cat_0")
"""The columns whose distribution differs between reference and current: the drift answer."""
WITH_MISSING = ("num_04", "num_05")
MISSING_RATE = 0.01
CARDINALITY = (3, 5, 10, 20, 50)
SEED = 20_261_124

READ_BUDGET_S = 10.0
"""Timed calls stop once they have taken this long (at least one is made)."""
CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    drift_rows: tuple[int, ...]
    """Rows of each frame (reference and current have the same count) per drift workload."""
    profile_rows: int
    big_file_bytes: int
    small_files: int
    small_file_bytes: int
    repeats: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Sizes(
    drift_rows=(100_000, 1_000_000),
    profile_rows=1_000_000,
    big_file_bytes=1024**3,
    small_files=10_000,
    small_file_bytes=10 * 1024,
    repeats=3,
)
QUICK = Sizes(
    drift_rows=(10_000, 50_000),
    profile_rows=50_000,
    big_file_bytes=64 * 1024**2,
    small_files=500,
    small_file_bytes=10 * 1024,
    repeats=2,
)


def sizes_for(quick: bool) -> Sizes:
    return QUICK if quick else FULL


def frame_name(rows: int, side: str) -> str:
    """File name of one Parquet frame; ``side`` is ``reference`` or ``current``."""
    return f"{side}-{rows}.parquet"


def frame_columns(rows: int, side: str) -> dict[str, Any]:
    """The columns of one frame as numpy arrays (strings for the categorical ones), seeded."""
    import numpy as np

    current = side == "current"
    rng = np.random.default_rng([SEED, rows, int(current)])
    out: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        kind = i % 4
        if kind == 0:  # normal, various location and scale
            values = rng.normal(10.0 * i, 1.0 + i, rows)
        elif kind == 1:  # log-normal, skewed
            values = rng.lognormal(0.0, 0.5, rows) * (1 + i)
        elif kind == 2:  # uniform
            values = rng.uniform(0.0, 1.0, rows) * (1 + i)
        else:  # exponential
            values = rng.exponential(2.0 + i, rows)
        out[name] = values
    if current:
        out["num_00"] = out["num_00"] + 0.5  # normal(0, 1): mean moved by half a sd
        out["num_01"] = out["num_01"] * 1.25  # log-normal stretched by a quarter
        out["num_02"] = out["num_02"] + 0.6  # uniform on [0, 3] moved by a fifth of its width
        out["num_03"] = out["num_03"] * 1.5  # exponential with a 50 % larger mean
    for name in WITH_MISSING:
        values = out[name]
        values[rng.random(rows) < MISSING_RATE] = np.nan
    for name, levels in zip(CATEGORICAL, CARDINALITY, strict=True):
        weights = 1.0 / np.arange(1, levels + 1)  # Zipf-like: a few frequent levels
        if current and name == "cat_0":
            weights = weights[::-1]  # the rarest level becomes the most frequent
        labels = np.array([f"{name}_v{j:02d}" for j in range(levels)])
        out[name] = labels[rng.choice(levels, rows, p=weights / weights.sum())]
    return out


def write_big(root: Path, sizes: Sizes) -> Path:
    """The large ``data add`` input: ``big_file_bytes`` random bytes in one file.

    Random bytes, so neither side can compress or deduplicate its way out of the work.
    """
    big = root / "big.bin"
    with big.open("wb") as fh:
        left = sizes.big_file_bytes
        while left:
            n = min(CHUNK, left)
            fh.write(os.urandom(n))
            left -= n
    return big


def write_small(root: Path, sizes: Sizes) -> Path:
    """The many-files ``data add`` input: a folder of ``small_files`` random files."""
    small = root / "small"
    small.mkdir()
    for i in range(sizes.small_files):
        (small / f"part-{i:05d}.bin").write_bytes(os.urandom(sizes.small_file_bytes))
    return small


def iter_files(path: Path) -> Iterator[Path]:
    """Every regular file under ``path`` (or ``path`` itself), in a stable order."""
    if path.is_file():
        yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def warm(path: Path) -> int:
    """Read every byte under ``path`` once, so the next reader finds it in the page cache.

    Dropping the page cache needs root; instead every side starts warm. Returns the bytes read.
    """
    total = 0
    for file in iter_files(path):
        with file.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                total += len(chunk)
    return total


def time_calls(call: Callable[[], Any], repeats: int) -> tuple[dict[str, Any], Any]:
    """Median wall time of up to ``repeats`` calls, stopping once they took ``READ_BUDGET_S``."""
    times: list[float] = []
    result: Any = None
    spent = 0.0
    while len(times) < repeats and (not times or spent < READ_BUDGET_S):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    ordered = sorted(times)
    return {
        "median_s": ordered[len(ordered) // 2],
        "times_s": times,
        "repeats": len(times),
    }, result


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (2**20 bytes).

    Linux's ``VmHWM``, the high-water mark of the memory map that ``exec`` created, when it can
    be read. Not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts at its parent's peak at
    ``fork`` (the driver's, some hundreds of MB after writing the frames), which would hide the
    figure under 300 MB that the target is about.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AnonPeak:
    """Samples this process's anonymous resident memory (``RssAnon``) every few ms in a thread.

    ``VmHWM`` counts the pages of a memory-mapped file that are resident, though they are page
    cache that the kernel can drop at will; this is the other half, the memory the process holds
    itself. A sampled peak, so a spike shorter than the interval can be missed. ``None`` where
    ``/proc`` is missing.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        import threading

        self.interval_s = interval_s
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float | None:
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        return None

    def _run(self) -> None:
        while True:
            value = self._sample()
            if value is not None:
                self.peak_mb = max(value, self.peak_mb or 0.0)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        value = self._sample()
        if value is not None:
            self.peak_mb = max(value, self.peak_mb or 0.0)
