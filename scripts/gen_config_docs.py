"""Generate the configuration reference from the pydantic models in ``aigate/config.py``.

The reference lives in docs/configuration.md itself, between the markers
``<!-- aigate:config-reference -->`` and ``<!-- /aigate:config-reference -->``, so it reads
the same on GitHub, in an editor and in the built site:

- ``python scripts/gen_config_docs.py --write`` rewrites that section from the code;
- ``python scripts/gen_config_docs.py --check`` exits 1 when the section is out of date
  (tests/test_docs.py runs the same check);
- ``python scripts/gen_config_docs.py`` prints the reference.

Each model becomes a section named by where it sits in a config file (``providers.<name>``,
``routes.<alias>``, ...) with its docstring and a table of fields: type, default,
constraints, and the field's trailing ``#`` comment in the source when it has one.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
import tokenize
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

MARKER = "<!-- aigate:config-reference -->"
END_MARKER = "<!-- /aigate:config-reference -->"
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))


def _comments(source: str) -> dict[int, str]:
    """Trailing comments by line number."""
    found: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found


def field_comments(module: Any) -> dict[tuple[str, str], str]:
    """``(class name, field name) -> comment`` for annotated fields with a trailing comment."""
    source = inspect.getsource(module)
    comments = _comments(source)
    out: dict[tuple[str, str], str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    end = item.end_lineno or item.lineno
                    comment = comments.get(end) or comments.get(item.lineno)
                    if comment:
                        out[(node.name, item.target.id)] = comment
    return out


def rst_to_md(text: str) -> str:
    """Docstring markup to Markdown: ``code`` and :class:`~x.Y` roles to backticks."""
    text = inspect.cleandoc(text)
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return re.sub(r"(?<![`\w])`([A-Z]\w+)`\s+s\b", r"`\1`s", text)


def _is_model(tp: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _constraint_text(metadata: Sequence[Any]) -> list[str]:
    out = []
    for item in metadata:
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, attr, None)
            if value is not None and type(item).__name__.lower() == attr:
                out.append(f"{symbol} {value}")
        if type(item).__name__ == "MinLen":
            out.append(f"at least {item.min_length} item{'s' if item.min_length != 1 else ''}")
        if type(item).__name__ == "MaxLen":
            out.append(f"at most {item.max_length}")
        inner = getattr(item, "metadata", None)  # a FieldInfo inside Annotated
        if inner and type(item).__name__ == "FieldInfo":
            out.extend(_constraint_text(inner))
    return out


class Renderer:
    def __init__(self) -> None:
        self.anchors: dict[type, str] = {}

    def type_name(self, tp: Any) -> str:
        from pydantic import SecretStr

        origin, args = get_origin(tp), get_args(tp)
        if tp is type(None):
            return "none"
        if origin is Annotated:
            inner = self.type_name(args[0])
            constraints = _constraint_text(args[1:])
            return f"{inner} ({', '.join(constraints)})" if constraints else inner
        if origin in (Union, types.UnionType):
            return " or ".join(dict.fromkeys(self.type_name(a) for a in args))
        if origin is Literal:
            return " or ".join(f'`"{a}"`' for a in args)
        if origin in (list, Sequence, tuple):
            return f"list of {self._group(args[0])}" if args else "list"
        if origin is dict:
            return f"table of {self._group(args[1])}" if args else "table"
        if origin is Callable or tp is Callable:
            return "callable (code only)"
        if tp is SecretStr:
            return "string (secret)"
        if tp is Any:
            return "any"
        if _is_model(tp):
            anchor = self.anchors.get(tp)
            return f"[{tp.__name__}](#{anchor})" if anchor else tp.__name__
        names = {str: "string", int: "integer", float: "number", bool: "boolean"}
        return names.get(tp, getattr(tp, "__name__", str(tp)))

    def _group(self, tp: Any) -> str:
        name = self.type_name(tp)
        return f"({name})" if " or " in name else name

    @staticmethod
    def default(field: Any) -> str:
        from pydantic_core import PydanticUndefined

        if field.default_factory is not None:
            try:
                value = field.default_factory()
            except TypeError:
                return ""
            if _is_model(type(value)):
                return "its defaults"
            return "`[]`" if value == [] else "`{}`" if value == {} else f"`{value!r}`"
        value = field.default
        if value is PydanticUndefined:
            return "**required**"
        if value is None:
            return "none"
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        if isinstance(value, str):
            return f'`"{value}"`'
        return f"`{value!r}`"


def _models_under(tp: Any) -> Iterator[tuple[type, str]]:
    """Models reachable from an annotation, with the path suffix that reaches them."""
    origin, args = get_origin(tp), get_args(tp)
    if _is_model(tp):
        yield tp, ""
    elif origin is Annotated:
        yield from _models_under(args[0])
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _models_under(arg)
    elif origin in (list, Sequence, tuple) and args:
        for model, suffix in _models_under(args[0]):
            yield model, "[]" + suffix
    elif origin is dict and args:
        for model, suffix in _models_under(args[1]):
            yield model, ".<name>" + suffix


def sections(root: type) -> list[tuple[type, list[str]]]:
    """Every model under ``root`` in breadth-first order, with the config paths that reach
    it (the most general first: fewest ``<name>``/``[]`` parts)."""
    order: list[type] = [root]
    paths: dict[type, list[str]] = {root: [""]}
    index = 0
    while index < len(order):
        model = order[index]
        index += 1
        for path in paths[model][:1]:
            for name, field in model.model_fields.items():  # type: ignore[attr-defined]
                for sub, suffix in _models_under(field.annotation):
                    found = f"{path}.{name}{suffix}".lstrip(".")
                    if sub not in paths:
                        paths[sub] = []
                        order.append(sub)
                    if found not in paths[sub]:
                        paths[sub].append(found)
    for model in order:
        paths[model].sort(key=lambda p: (p.count("<name>") + p.count("[]"), len(p)))
    return [(model, paths[model]) for model in order]


def kinds_table() -> str:
    from aigate.providers import KINDS

    rows = ["| kind | wire format | default base URL | key from |", "|---|---|---|---|"]
    for name, kind in KINDS.items():
        codec = kind.codec.split(":", 1)[0]
        env = ", ".join(f"`{e}`" for e in kind.key_env) or "no key needed"
        rows.append(f"| `{name}` | {codec} | `{kind.base_url}` | {env} |")
    return "\n".join(rows)


def render() -> str:
    """The whole reference, as Markdown."""
    import aigate.config as config_module
    from aigate.config import GatewayConfig

    comments = field_comments(config_module)
    renderer = Renderer()
    found = sections(GatewayConfig)
    for model, _ in found:
        renderer.anchors[model] = model.__name__.lower()
    out = [
        "<!-- generated by scripts/gen_config_docs.py from aigate/config.py: edit those -->",
        "",
    ]
    for model, where in found:
        title = f"`{where[0]}`" if where[0] else "Top level"
        # an HTML anchor, not mkdocs' {#id}: the same link works on GitHub and in the site
        out.append(f'<a id="{renderer.anchors[model]}"></a>')
        out.append("")
        out.append(f"### {title}")
        out.append("")
        out.append(f"*{model.__name__}*. {rst_to_md(model.__doc__ or '')}")
        if len(where) > 1:
            out.append("")
            out.append("Also at " + ", ".join(f"`{w}`" for w in where[1:]) + ".")
        out.append("")
        out.append("| field | type | default | notes |")
        out.append("|---|---|---|---|")
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            kind = renderer.type_name(field.annotation)
            constraints = _constraint_text(field.metadata)
            if constraints:
                kind += f" ({', '.join(constraints)})"
            notes = [comments.get((model.__name__, name), "")]
            if field.description:
                notes.insert(0, field.description)
            if field.repr is False:
                notes.append("never shown in a repr")
            note = "; ".join(n for n in notes if n).replace("|", "\\|")
            kind = kind.replace("|", "\\|")
            out.append(f"| `{name}` | {kind} | {renderer.default(field)} | {note} |")
        out.append("")
    out.append('<a id="kinds"></a>')
    out.append("")
    out.append("### Provider kinds")
    out.append("")
    out.append("`providers.<name>.kind` (default: the provider's name) picks one of these.")
    out.append("")
    out.append(kinds_table())
    out.append("")
    return "\n".join(out)


PAGE = Path("docs") / "configuration.md"


def fill(markdown: str) -> str:
    """``markdown`` with the section between the markers replaced by :func:`render`."""
    start = markdown.index(MARKER) + len(MARKER)
    end = markdown.index(END_MARKER, start)
    return markdown[:start] + "\n\n" + render() + "\n" + markdown[end:]


def main(argv: Sequence[str]) -> int:
    page = ROOT / PAGE
    if not argv:
        sys.stdout.write(render())
        return 0
    text = page.read_text(encoding="utf-8")
    wanted = fill(text)
    if argv == ["--check"]:
        if wanted != text:
            sys.stderr.write(f"{PAGE} is out of date: run scripts/gen_config_docs.py --write\n")
            return 1
        return 0
    if argv == ["--write"]:
        if wanted != text:
            page.write_text(wanted, encoding="utf-8")
            sys.stderr.write(f"wrote {PAGE}\n")
        return 0
    sys.stderr.write("usage: gen_config_docs.py [--write | --check]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
