"""``modelcycle lineage``: where a dataset version came from and where it went, or which data a
run read.

The graph comes from ``mc.data.lineage``: versions derived from other versions (``--parent`` of
``data add``) and runs that read versions (``run.log_input``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelcycle.cli._output import JsonFlag, console, plain, print_json


def show_lineage(
    target: Annotated[
        str,
        typer.Argument(
            metavar="NAME@VERSION|RUN_ID",
            help="A dataset version (NAME alone is the latest), or a run's full id.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Show the lineage graph around a dataset version or a run, in both directions.

    JSON: {"root", "nodes": [{"id", "kind", "name", "version", "status"}],
    "edges": [{"source", "target", "kind", "role"}]}.
    """
    from rich.tree import Tree

    import modelcycle as mc

    graph = mc.data.lineage(target)
    if as_json:
        print_json(graph.model_dump(mode="json"))
        return
    nodes = {node.id: node for node in graph.nodes}

    def label(node_id: str, role: str | None = None) -> str:
        node = nodes.get(node_id)
        kind = {"run": "run", "model_version": "model"}.get(node.kind if node else "", "data")
        name = f" ({node.name})" if node is not None and node.kind == "run" else ""
        return f"{kind} {node_id}{name}" + (f" [{role}]" if role else "")

    def grow(tree: Tree, node_id: str, upwards: bool, seen: set[str]) -> None:
        for edge in graph.edges:
            near, far = (edge.target, edge.source) if upwards else (edge.source, edge.target)
            if near == node_id and far not in seen:
                branch = tree.add(plain(label(far, edge.role)))
                grow(branch, far, upwards, seen | {far})

    out = console()
    root = Tree(plain(label(graph.root)))
    upstream = root.add("came from")
    grow(upstream, graph.root, True, {graph.root})
    downstream = root.add("used by")
    grow(downstream, graph.root, False, {graph.root})
    out.print(root)
