"""Package import cycles of ``app``: pairs of top-level packages that import each other.

A measure for the layering (issue 13), next to the contracts ``make lint`` enforces
(``[tool.importlinter]`` in pyproject.toml). Counts direct imports only, between ``app.<package>``
(modules such as ``app.phones`` count as their own package).

    .venv/bin/python bench/import_cycles.py        # the pairs
    .venv/bin/python bench/import_cycles.py -v     # and the imports behind each direction
"""

from __future__ import annotations

import sys
from collections import defaultdict

import grimp


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def main(verbose: bool) -> None:
    graph = grimp.build_graph("app", cache_dir=None)
    imports: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            pair = (package(module), package(imported))
            if pair[0] != pair[1]:
                imports[pair].append((module, imported))
    cycles = sorted({tuple(sorted(pair)) for pair in imports if pair[::-1] in imports})
    print(f"{len(cycles)} package import cycles")
    for a, b in cycles:
        print(f"  {a} <-> {b}")
        if verbose:
            for source, target in ((a, b), (b, a)):
                print(f"    {source} -> {target}:")
                for module, imported in sorted(imports[source, target]):
                    print(f"      {module} -> {imported}")


if __name__ == "__main__":
    main("-v" in sys.argv[1:])
