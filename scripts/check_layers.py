"""The import contract: aigate's modules import in one direction, with no cycle.

Every import counts: top-level, inside functions, and under ``if TYPE_CHECKING:`` (a cycle
in the types is still a knot). Run as ``python scripts/check_layers.py``; it prints each
broken rule and exits 1. tests/test_layers.py runs it in the suite, and .ci/run before it.

The layers, top to bottom; a module may import its own layer and the ones below it:

========  ==================================================================================
kit       testing, the pytest plugin, cassettes, the CLI: nothing in aigate imports them
surface   Gateway/AsyncGateway, resources, the SDK drop-in, the Responses/Messages surfaces,
          realtime sessions, the dashboard and reports
drivers   HTTP and websocket engines (httpx, httpx2, aiohttp, the fake engine)
core      the call context, the flow and its steps (cache, admit, attempt, record, stream)
stores    routing, cache, ledger, budget, tenancy, observe
codecs    provider codecs, pricing, tokens
leaves    the neutral wire request/response and effects, SQL steps and connections, models,
          types, exceptions, config
========  ==================================================================================

Two more rules: only the modules in ``HTTP_IMPORTERS`` import an HTTP library, and a module
is assigned to exactly one layer (a new module must be placed here).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "aigate"

LAYERS: dict[str, tuple[str, ...]] = {
    "kit": (
        "aigate.__main__",
        "aigate.cli",
        "aigate._cli_common",
        "aigate._cli_prices",
        "aigate.testing",
        "aigate.pytest_plugin",
        "aigate.recording",
        "aigate.realtime.testing",
        "aigate.dashboard._cli",
    ),
    "surface": (
        "aigate",
        "aigate._gateway",
        "aigate._resources",
        "aigate._host",
        "aigate.typing",  # re-exports the protocols from the layers below
        "aigate.sdk",
        "aigate.surfaces",
        "aigate.realtime",
        "aigate.dashboard",
        "aigate._report_html",
        "aigate._report_send",
        "aigate._reprice",
    ),
    "drivers": ("aigate.drivers",),
    "core": (
        "aigate._core",
        "aigate._flow",
        "aigate._admission",
        "aigate._caching",
        "aigate._recording",
        "aigate._context",
        "aigate._stream",
        "aigate._attempts",
    ),
    "stores": (
        "aigate.routing",
        "aigate.cache",
        "aigate.ledger",
        "aigate.budget",
        "aigate.tenancy",
        "aigate.observe",
    ),
    "codecs": (
        "aigate.providers",
        "aigate.pricing",
        "aigate.tokens",
        "aigate._fake_formats",
        "aigate._validate",
    ),
    "leaves": (
        "aigate._wire",
        "aigate._models",
        "aigate.types",
        "aigate._exceptions",
        "aigate.config",
        "aigate._closing",
        "aigate._urls",
        "aigate._suggest",
        "aigate._version",
        "aigate._data",
        "aigate._templates",
        "aigate._effects",
        "aigate._sqlsteps",
        "aigate.realtime._errors",
    ),
}
ORDER = tuple(LAYERS)  # top first

HTTP_LIBRARIES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "aiohttp", "websockets"})
#: Who may import an HTTP library, and why.
HTTP_IMPORTERS: dict[str, str] = {
    "aigate.drivers": "the engines: the only place a library's requests and errors are seen",
    "aigate.sdk._transport": "the SDK drop-in is an httpx/httpx2 transport (their base classes)",
    "aigate.testing": "FaultTransport is an httpx/httpx2 transport",
    "aigate.pytest_plugin": "fixtures hand tests httpx clients",
    "aigate.recording": "cassettes record and replay an httpx transport",
    "aigate.realtime.testing": "a loopback websocket server for tests",
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import | str]:
    """The aigate modules ``module`` imports, and (as plain strings) the outside packages."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "aigate":
                    yield Import(module, alias.name, node.lineno)
                else:
                    yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "aigate":
                yield target.split(".")[0]
                continue
            # `from . import x` names a submodule: it depends on x, not on the package's
            # __init__ (which Python has already run for any submodule of it).
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
            for sub in subs:
                yield Import(module, sub, node.lineno)
            if len(subs) < len(node.names):
                yield Import(module, target, node.lineno)


def _owner(module: str, table: Mapping[str, tuple[str, ...]]) -> str | None:
    """The key whose prefixes hold the longest prefix of ``module``, or None."""
    best: tuple[int, str] | None = None
    for key, prefixes in table.items():
        for prefix in prefixes:
            # the root package names only its own __init__, never everything under it
            inside = module == prefix or (prefix != "aigate" and module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), key)
    return best[1] if best else None


def layer_of(module: str) -> str | None:
    return _owner(module, LAYERS)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def check() -> list[str]:
    """Every broken rule, as one line each (empty: the contract holds)."""
    modules = _modules()
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    http_allowed = {name: (name,) for name in HTTP_IMPORTERS}
    for module, path in modules.items():
        here = layer_of(module)
        if here is None:
            problems.append(f"{module}: in no layer (place it in scripts/check_layers.py)")
            continue
        for item in _imports(module, path, modules):
            if isinstance(item, str):
                if item in HTTP_LIBRARIES and _owner(module, http_allowed) is None:
                    problems.append(f"{module}: imports {item} (only drivers may)")
                continue
            if item.target not in modules or item.target == module:
                continue
            graph[module].add(item.target)
            there = layer_of(item.target)
            if there is not None and ORDER.index(there) < ORDER.index(here):
                problems.append(
                    f"{path.relative_to(ROOT.parent)}:{item.line}: {module} ({here}) imports "
                    f"{item.target} ({there}): imports go down the layers only"
                )
    for component in _cycles(graph):
        problems.append("import cycle: " + " <-> ".join(component))
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} broken rule(s) of the import contract")
        return 1
    print(f"import contract holds: {len(_modules())} modules, {len(ORDER)} layers, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
