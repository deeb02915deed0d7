"""The ``modelcycle`` command line: a thin typer + rich adapter over the public SDK.

Map of the commands (one module per group; ``main.app`` gathers them)::

    modelcycle runs list|show|compare|delete     runs.py  (+ _runs_table, _run_detail, _compare)
    modelcycle experiments list                  experiments.py
    modelcycle db upgrade|current                db.py
    modelcycle gc                                gc.py
    modelcycle demo                              demo.py

``_output`` holds the consoles, ``--json`` writing and progress bars; ``_errors`` turns every
``ModelcycleError`` into ``headline: message`` on stderr and the class's exit code.
"""
