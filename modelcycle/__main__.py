"""``python -m modelcycle``: the same command line as the ``modelcycle`` script."""

from __future__ import annotations

from modelcycle.cli.main import main

if __name__ == "__main__":
    main()
