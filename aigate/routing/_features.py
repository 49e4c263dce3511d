"""What the router knows about a call (:class:`Features`) and the rules that match on it."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ..providers._base import Target

__all__ = ["FEATURES", "CallFacts", "Features", "compile_condition"]


class CallFacts(Protocol):
    """What routing reads of a call: the core's ``CallContext`` satisfies it, so routing
    sits below the core and never imports it."""

    @property
    def kind(self) -> str: ...
    @property
    def stream(self) -> bool: ...
    @property
    def route(self) -> str | None: ...
    @property
    def metadata(self) -> Mapping[str, str]: ...
    @property
    def user(self) -> str | None: ...


# Per message: role and separators, generously (OpenAI counts 3-4 tokens).
_MESSAGE_OVERHEAD = 8
_NOTHING: frozenset[str] = frozenset()


class Features:
    """One call as the router sees it. Everything past the call's kind is computed on first
    use, so a route that looks at nothing pays for nothing.

    ``kind`` is ``"chat"``, ``"embedding"`` or ``"transcription"``; ``metadata``, ``user`` and
    ``virtual_key`` say who calls; ``call`` is the validated call itself (``ChatCall`` and
    friends) when the router was given it.
    """

    __slots__ = (
        "_default",
        "_needs",
        "_params",
        "_scan",
        "_tokens",
        "call",
        "kind",
        "metadata",
        "route",
        "stream",
        "user",
        "virtual_key",
    )

    def __init__(self, ctx: CallFacts, call: Any = None, default: Target | None = None) -> None:
        self.kind = ctx.kind
        self.stream = ctx.stream
        self.route = ctx.route
        self.metadata: Mapping[str, str] = ctx.metadata
        self.user = ctx.user
        self.virtual_key: str | None = getattr(ctx, "virtual_key", None)
        self.call = call
        self._default = default
        self._tokens: dict[tuple[str, str], int] | None = None
        self._scan: tuple[bool, bool, bool, int] | None = None
        self._params: Mapping[str, Any] | None = None
        self._needs: frozenset[str] | None = None

    # -- inputs -------------------------------------------------------------------------

    def _scanned(self) -> tuple[bool, bool, bool, int]:
        """(images, audio, files, an upper bound of the prompt's tokens): one pass over the
        messages. The bound is the UTF-8 size of the text plus a per-message allowance:
        byte-level BPE never makes more tokens than bytes."""
        scan = self._scan
        if scan is None:
            scan = self._scan = self._do_scan()
        return scan

    def _do_scan(self) -> tuple[bool, bool, bool, int]:
        call = self.call
        if self.kind == "transcription":
            return False, True, False, 0
        if self.kind == "embedding":
            inputs = getattr(call, "input", None)
            if isinstance(inputs, str):
                inputs = [inputs]
            size = 0
            for item in inputs or ():
                size += _size(item) if isinstance(item, str) else len(item)
            return False, False, False, size + 8
        messages = getattr(call, "messages", None) or ()
        images = audio = files = False
        size = 16
        for message in messages:
            size += _MESSAGE_OVERHEAD
            content = message.get("content")
            if isinstance(content, str):
                size += _size(content)
            elif isinstance(content, list):
                for part in content:
                    kind = part.get("type") if isinstance(part, dict) else None
                    if kind == "text":
                        size += _size(part.get("text") or "")
                    elif kind == "image_url":
                        images = True
                    elif kind == "input_audio":
                        audio = True
                    elif kind == "file":
                        files = True
                    else:
                        size += _size(json.dumps(part))
            if len(message) > 2:  # tool calls, a name: counted by their JSON size
                for extra in ("tool_calls", "function_call", "name"):
                    value = message.get(extra)
                    if value:
                        size += _size(value if isinstance(value, str) else json.dumps(value))
        tools = self.params.get("tools")
        if tools:
            size += _size(json.dumps(tools)) + 64
        return images, audio, files, size

    @property
    def params(self) -> Mapping[str, Any]:
        """The call's OpenAI parameters (``tools``, ``response_format``, ``max_tokens``...)."""
        params = self._params
        if params is None:
            found = getattr(self.call, "params", None)
            if type(found) is not dict and not isinstance(found, Mapping):  # ABC checks are slow
                found = {}
            params = self._params = found
        return params

    @property
    def has_images(self) -> bool:
        return self._scanned()[0]

    @property
    def has_audio(self) -> bool:
        """Audio input: a transcription, or ``input_audio`` parts in a chat."""
        return self._scanned()[1]

    @property
    def has_files(self) -> bool:
        return self._scanned()[2]

    @property
    def has_tools(self) -> bool:
        return bool(self.params.get("tools"))

    @property
    def json_mode(self) -> bool:
        """``response_format`` asks for JSON (``json_object`` or ``json_schema``)."""
        fmt = self.params.get("response_format")
        return isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema")

    @property
    def needs(self) -> frozenset[str]:
        """Catalog capabilities a target needs to serve this call."""
        needs = self._needs
        if needs is None:
            needs = _NOTHING
            if self.kind == "chat":
                images, audio, files, _ = self._scanned()
                params = self.params
                fmt = params.get("response_format")
                schema = isinstance(fmt, Mapping) and fmt.get("type") == "json_schema"
                tools = bool(params.get("tools"))
                if images or audio or files or tools or schema:
                    needs = frozenset(
                        name
                        for name, needed in (
                            ("vision", images),
                            ("audio_input", audio),
                            ("pdf", files),
                            ("tools", tools),
                            ("json_schema", schema),
                        )
                        if needed
                    )
            self._needs = needs
        return needs

    @property
    def max_output_tokens(self) -> int:
        """``max_completion_tokens`` or ``max_tokens``; 0 when the call sets neither."""
        params = self.params
        value = params.get("max_completion_tokens") or params.get("max_tokens")
        return value if isinstance(value, int) else 0

    @property
    def max_tokens(self) -> int:
        return self.max_output_tokens

    @property
    def size_bound(self) -> int:
        """A cheap upper bound of the prompt's tokens, valid without images, audio or files."""
        return self._scanned()[3]

    # -- token estimates ----------------------------------------------------------------

    @property
    def prompt_tokens(self) -> int:
        """The prompt's estimated tokens (with the route's first target's tokenizer)."""
        if self._default is None:
            return self.size_bound
        return self.tokens_for(self._default)

    @property
    def approx_prompt_tokens(self) -> int:
        """A rough size for ranking targets by price: the tokenizer's estimate when one was
        made or the prompt holds images, audio or files, else ~4 bytes of text per token."""
        default = self._default
        if default is not None and self.kind == "chat":
            images, audio, files, size = self._scanned()
            cache = self._tokens
            key = (default.provider.kind, default.model)
            if (cache is None or key not in cache) and not (images or audio or files):
                return size // 4
            return self.tokens_for(default)
        return self.size_bound

    def tokens_for(self, target: Target) -> int:
        """The prompt's tokens as ``target`` counts them (a bounded estimate, never below
        the true count), computed once per tokenizer family."""
        key = (target.provider.kind, target.model)
        cache = self._tokens
        if cache is None:
            cache = self._tokens = {}
        found = cache.get(key)
        if found is not None:
            return found
        if self.kind != "chat":
            tokens = self.size_bound
        else:
            from ..tokens import estimate_prompt_tokens

            tokens = estimate_prompt_tokens(
                getattr(self.call, "messages", None) or (),
                provider=target.provider.kind,
                model=target.model,
                tools=self.params.get("tools"),
            )
        cache[key] = tokens
        return tokens

    def __repr__(self) -> str:
        return f"Features(kind={self.kind!r}, stream={self.stream}, route={self.route!r})"


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# -- conditions ------------------------------------------------------------------------------

FEATURES = (
    "has_audio",
    "has_files",
    "has_images",
    "has_tools",
    "json_mode",
    "kind",
    "max_tokens",
    "prompt_tokens",
    "route",
    "stream",
    "user",
    "virtual_key",
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "in": lambda value, options: value in options,
    "not_in": lambda value, options: value not in options,
}


def _test(expected: Any, field: str) -> Callable[[Any], bool]:
    if isinstance(expected, Mapping):
        checks: list[tuple[Callable[[Any, Any], bool], Any]] = []
        for op, operand in expected.items():
            if op not in _OPS:
                raise ConfigurationError(
                    f"{field}.{op}: unknown comparison; expected one of {sorted(_OPS)}",
                    field=f"{field}.{op}",
                )
            checks.append((_OPS[op], operand))

        def compare(value: Any) -> bool:
            try:
                return all(fn(value, operand) for fn, operand in checks)
            except TypeError:  # None > 3: a missing feature matches no comparison
                return False

        return compare
    if isinstance(expected, (list, tuple, set, frozenset)):
        options = list(expected)
        return lambda value: value in options
    return lambda value: bool(value == expected)


def _metadata_getter(name: str) -> Callable[[Features], Any]:
    return lambda f: f.metadata.get(name)


def compile_condition(when: Any, field: str) -> Callable[[Features], bool]:
    """A predicate over :class:`Features` from a config ``when`` table (or a callable, used
    as it is). Unknown features and comparisons are configuration errors, named by field."""
    if callable(when):
        predicate: Callable[[Features], bool] = when
        return predicate
    tests: list[tuple[Callable[[Features], Any], Callable[[Any], bool]]] = []
    for name, expected in when.items():
        where = f"{field}.when.{name}"
        if name == "metadata" and isinstance(expected, Mapping):
            for key, value in expected.items():
                tests.append((_metadata_getter(str(key)), _test(value, f"{where}.{key}")))
        elif name.startswith("metadata.") and len(name) > len("metadata."):
            tests.append((_metadata_getter(name[len("metadata.") :]), _test(expected, where)))
        elif name in FEATURES:
            tests.append((operator.attrgetter(name), _test(expected, where)))
        else:
            raise ConfigurationError(
                f"{where}: unknown feature; expected one of {list(FEATURES)} or metadata.<name>",
                field=where,
            )

    def matches(features: Features) -> bool:
        return all(test(get(features)) for get, test in tests)

    return matches
