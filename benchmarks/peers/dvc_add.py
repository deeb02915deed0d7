"""DVC's side of the data benchmark: one ``dvc add``; runs in ``.bench-venvs/dvc``.

Usage::

    .bench-venvs/dvc/bin/python benchmarks/peers/dvc_add.py --repo DIR --target PATH [--init]

``--init`` first makes DIR a DVC repository without git (``dvc init --no-scm``), untimed; its
cache is DIR/.dvc/cache, on the same disk as the data. The clock covers ``Repo(DIR).add(PATH)``,
the call the ``dvc add`` command makes, so DVC's interpreter start-up and imports are left out
(the driver records the whole process's wall time apart, as ``process_wall_s``). One add per
process, so the peak memory it reports (``VmHWM``, see ``_data_workloads.peak_rss_mb``) is that
add's alone. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _data_workloads as data  # noqa: E402  (stdlib-only at import: sizes and helpers)
from dvc.repo import Repo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--init", action="store_true")
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        if args.init:
            Repo.init(str(args.repo), no_scm=True)
        repo = Repo(str(args.repo))
        with data.AnonPeak() as anon:
            start = time.perf_counter()
            repo.add(str(args.target))
            seconds = time.perf_counter() - start
    meta = Path(f"{args.target}.dvc").read_text()
    digest = re.search(r"md5:\s*(\S+)", meta)
    print(
        json.dumps(
            {
                "tool": "dvc",
                "version": importlib.metadata.version("dvc"),
                "seconds": seconds,
                "md5": digest.group(1) if digest else None,
                "peak_rss_mb": data.peak_rss_mb(),
                "peak_anon_mb": anon.peak_mb,
                "cache_type": repo.config["cache"].get("type", "default (reflink, copy)"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
