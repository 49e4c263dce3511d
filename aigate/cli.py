"""The ``aigate`` command (also ``python -m aigate``): demo, chat, models, report, config,
keys and budget.

Standard library only (argparse). Every command returns an exit status: 0 for success, 1
for a failed call, 2 for a usage or configuration error (with the field named).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, NoReturn

from ._cli_common import RELATIVE as _RELATIVE
from ._cli_common import UNITS as _UNITS
from ._cli_common import UsageError, parse_when
from ._cli_common import ledger_url as _ledger_url
from ._cli_common import load_config_file as _load_config
from ._exceptions import AigateError, ConfigurationError
from ._version import __version__

__all__ = ["COMMANDS", "build_parser", "main"]

UTC = timezone.utc
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Providers ``aigate chat`` uses when their key is in the environment, with a cheap model.
CHAT_DEFAULTS = (
    ("openai", ("OPENAI_API_KEY",), "gpt-4o-mini"),
    ("anthropic", ("ANTHROPIC_API_KEY",), "claude-haiku-4-5"),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "gemini-2.5-flash"),
    ("groq", ("GROQ_API_KEY",), "openai/gpt-oss-20b"),
    ("openrouter", ("OPENROUTER_API_KEY",), "openai/gpt-4o-mini"),
    ("mistral", ("MISTRAL_API_KEY",), "mistral-small-latest"),
    ("deepseek", ("DEEPSEEK_API_KEY",), "deepseek-chat"),
)


# -- output helpers ------------------------------------------------------------------------


def _out() -> IO[str]:
    return sys.stdout


def _err() -> IO[str]:
    return sys.stderr


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> str:
    """Rows aligned in columns under a header line; ``right`` marks numeric columns."""
    right = list(right) if right is not None else [False] * len(headers)
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if right[i] else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def _per_million(price: Decimal | None) -> str:
    if price is None:
        return "?"
    value = price * 1_000_000
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return f"${text}"


def _tokens(value: int | None) -> str:
    """A context window as people say it: 128k, 1.05M."""
    if value is None:
        return "?"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 1000:
        return f"{value / 1000:.0f}k"
    return str(value)


# -- argument parsing helpers --------------------------------------------------------------


def _pairs(items: Sequence[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# -- report --------------------------------------------------------------------------------


def _summary_rows(rows: Sequence[Any], group_by: Sequence[str]) -> list[list[str]]:
    from ._report_html import format_usd

    out = []
    for row in rows:
        cells = [str(row.group.get(g)) if row.group.get(g) is not None else "-" for g in group_by]
        spend = format_usd(row.cost_nano) + (f" +{row.unpriced}?" if row.unpriced else "")
        out.append(
            [
                *cells,
                f"{row.requests:,}",
                f"{row.errors:,}",
                f"{row.cache_hits:,}",
                f"{row.prompt_tokens:,}",
                f"{row.completion_tokens:,}",
                spend,
                f"{row.latency_p50_ms:,.0f}" if row.latency_p50_ms is not None else "-",
                f"{row.latency_p95_ms:,.0f}" if row.latency_p95_ms is not None else "-",
            ]
        )
    return out


_SUMMARY_HEADERS = (
    "calls",
    "errors",
    "cached",
    "tokens in",
    "tokens out",
    "spend",
    "p50 ms",
    "p95 ms",
)


def _write_text(target: str, text: str) -> None:
    if target == "-":
        _out().write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")


#: A report that has run this long says what it is reading, on stderr.
PROGRESS_AFTER_S = 1.0


class _Progress:
    """Progress of a long report on stderr: silent for a quick one, then one line per view
    read, with the time so far (stdout stays the report alone)."""

    def __init__(self, stream: IO[str], *, quiet: bool = False) -> None:
        self.stream, self.quiet = stream, quiet
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, step: str) -> None:
        elapsed = time.perf_counter() - self.start
        if self.quiet or elapsed < PROGRESS_AFTER_S:
            return
        self.shown = True
        self.stream.write(f"report: reading {step}... ({elapsed:.1f} s)\n")
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"report: read in {elapsed:.1f} s\n")


def cmd_report(args: argparse.Namespace) -> int:
    from .ledger import open_ledger, to_csv, to_json

    url = _ledger_url(args)
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until) if args.until else None
    group_by = _split(args.group_by) or ["model"]
    where = _pairs(args.where, "--where")
    window: dict[str, Any] = {"since": since, "until": until, "where": where or None}
    from ._report_html import collect_report, format_usd, render_html, safe_url

    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        # opening a missing SQLite file would create an empty ledger and report nothing
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            raise UsageError(
                f"no ledger at {path}: the file does not exist (a typo in --ledger? "
                f"`aigate demo --ledger {url}` writes one to try the reports)"
            )
    progress = _Progress(_err(), quiet=args.quiet)
    if args.reprice:
        _reprice_first(args, url, since, until)
    ledger = open_ledger(url)
    try:
        # The grouped rows feed the text report, CSV/JSON and an HTML --group-by; an HTML
        # report alone reads its own (a handful of statements on a SQL ledger).
        wanted = not args.html or args.group_by or args.csv or args.json
        try:
            progress("groups")
            rows = ledger.summary(group_by=group_by, **window) if wanted else []
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if args.html:
            report = collect_report(
                ledger,
                top_by=args.by,
                top_n=args.top,
                source=url,
                group_by=_split(args.group_by),
                groups=rows if args.group_by else None,
                progress=progress,
                **window,
            )
            Path(args.html).write_text(render_html(report), encoding="utf-8")
            _err().write(f"wrote {args.html} ({report.totals.requests:,} calls)\n")
        if args.csv:
            if args.csv == "-":
                to_csv(rows, _out())
            else:
                with open(args.csv, "w", newline="", encoding="utf-8") as file:
                    to_csv(rows, file)
        if args.json:
            _write_text(args.json, to_json(rows) + "\n")
        if args.csv or args.json or args.html:
            return EXIT_OK
        progress("totals")
        totals = ledger.totals(**window)
        # Refused calls (nothing sent) are rows too, kept out of the call counts: say how many.
        refused = ledger.totals(**{**window, "where": {**(where or {}), "status": "refused"}})
        progress("top spenders")
        top = ledger.top_spenders(args.by, args.top, **window) if args.top else []
    finally:
        ledger.close()
    progress.done()

    out = _out()
    span = [f"since {since}" if since else "", f"until {until}" if until else ""]
    unpriced = f" (+{totals.unpriced} unpriced)" if totals.unpriced else ""
    out.write(
        f"aigate report: {safe_url(url)}"
        + "".join(f", {s}" for s in span if s)
        + f"\n{totals.requests:,} calls, {totals.errors:,} errors, "
        + (f"{refused.requests:,} refused before sending, " if refused.requests else "")
        + f"spend {format_usd(totals.cost_nano)}{unpriced}"
        + (f", cache saved {format_usd(totals.saved_nano)}" if totals.saved_nano else "")
        + "\n\n"
    )
    if not rows:
        out.write("no calls in this range\n")
        return EXIT_OK
    headers = [*group_by, *_SUMMARY_HEADERS]
    right = [False] * len(group_by) + [True] * len(_SUMMARY_HEADERS)
    body = _summary_rows(rows, group_by)
    if len(rows) > 1:
        total_cells = _summary_rows([totals], [])[0]
        body.append(["total", *[""] * (len(group_by) - 1), *total_cells])
    out.write(render_table(headers, body, right) + "\n")
    if top:
        out.write(f"\ntop spenders by {args.by}\n")
        top_rows = []
        for row in top:
            share = row.cost_nano / totals.cost_nano if totals.cost_nano else 0.0
            top_rows.append(
                [
                    str(row.group.get(args.by) or "-"),
                    f"{row.requests:,}",
                    format_usd(row.cost_nano),
                    f"{share:.0%}",
                ]
            )
        out.write(
            render_table([args.by, "calls", "spend", "share"], top_rows, [False, True, True, True])
            + "\n"
        )
    return EXIT_OK


def _reprice_first(args: argparse.Namespace, url: str, since: Any, until: Any) -> None:
    """``--reprice``: store the cost of rows recorded without one, from today's prices
    (``aigate prices reprice --apply`` over the same window), before reporting."""
    from ._reprice import reprice
    from .ledger import open_ledger
    from .pricing import catalog_for

    catalog, kinds = catalog_for(_load_config(args.config))
    ledger = open_ledger(url)
    try:
        try:
            result = reprice(ledger, catalog, kinds=kinds, since=since, until=until, apply=True)
        except TypeError as exc:  # a ledger that cannot update costs (say, Redis)
            raise UsageError(str(exc)) from None
    finally:
        ledger.close()
    still = sum(result.still_unpriced.values())
    _err().write(
        f"repriced {result.written or 0} of {result.unpriced} unpriced calls"
        + (f" ({still} still have no price)" if still else "")
        + "\n"
    )


# -- models --------------------------------------------------------------------------------


def _catalog_for(config: Any) -> tuple[Any, dict[str, str]]:
    from .pricing import catalog_for

    return catalog_for(config)


def cmd_models(args: argparse.Namespace) -> int:
    from ._cli_prices import snapshot_line

    config = _load_config(args.config)
    catalog, kinds = _catalog_for(config)
    max_price = None
    if args.max_input_price is not None:
        try:
            max_price = Decimal(args.max_input_price) / 1_000_000
        except InvalidOperation:
            raise UsageError("--max-input-price: expected a number (USD per 1M tokens)") from None
    filters: dict[str, Any] = {
        "capability": args.capability or None,
        "max_input_price": max_price,
        "min_context": args.min_context,
        "text": args.search,
        "mode": args.mode,
    }
    providers: list[str | None] = [None]
    if args.provider:
        providers = [str(args.provider)]
        kind = kinds.get(args.provider)
        if kind is not None and kind != args.provider:
            providers.append(kind)
    elif kinds:
        providers = [*sorted(set(kinds) | set(kinds.values()))]
    found: dict[tuple[str, str], Any] = {}
    for provider in providers:
        for info in catalog.search(provider=provider, **filters):
            found[(info.provider, info.model)] = info
    models = [found[key] for key in sorted(found)]
    if args.json:
        data = [
            {
                "model": f"{m.provider}/{m.model}",
                "mode": m.mode,
                "context_window": m.context_window,
                "max_output_tokens": m.max_output_tokens,
                "input_per_million": _json_price(m.price.input),
                "output_per_million": _json_price(m.price.output),
                "capabilities": sorted(m.capabilities),
            }
            for m in models
        ]
        _out().write(json.dumps(data, indent=2) + "\n")
        _err().write(snapshot_line(catalog) + "\n")  # stdout stays JSON
        return EXIT_OK
    if not models:
        _out().write("no model matches\n")
        return EXIT_OK
    shown = models if args.limit <= 0 else models[: args.limit]
    rows = [
        [
            f"{m.provider}/{m.model}",
            m.mode,
            _tokens(m.context_window),
            _per_million(m.price.input),
            _per_million(m.price.output),
            ", ".join(sorted(m.capabilities)),
        ]
        for m in shown
    ]
    headers = ["model", "mode", "context", "in $/1M", "out $/1M", "capabilities"]
    _out().write(render_table(headers, rows, [False, False, True, True, True, False]) + "\n")
    if len(shown) < len(models):
        _out().write(f"... {len(models) - len(shown)} more (--limit 0 shows all)\n")
    _out().write(snapshot_line(catalog) + "\n")  # how old these prices are
    return EXIT_OK


def _json_price(price: Decimal | None) -> str | None:
    if price is None:
        return None
    return format((price * 1_000_000).normalize(), "f")


# -- config check --------------------------------------------------------------------------


def check_config(path: str) -> list[str]:
    """Validate a config file the way a gateway would, without its keys and without
    creating its ledger. Returns warnings (a deprecated spelling among them: Python hides
    a ``DeprecationWarning`` from a command, so it is said here); raises
    :class:`ConfigurationError` on an error."""
    import warnings as _warnings

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always", DeprecationWarning)
        found = _check_config(path)
    deprecated = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    return [*dict.fromkeys(deprecated), *found]


def _check_config(path: str) -> list[str]:
    from . import _core
    from .config import load_config
    from .providers import KINDS

    config = load_config(path)
    warnings: list[str] = []
    providers = {}
    for name, provider in config.providers.items():
        kind = provider.kind or name
        try:
            if kind in KINDS:
                _core._keys(name, provider, kind)
        except ConfigurationError as exc:
            if not (exc.field or "").endswith(".api_keys") or "no API key" not in str(exc):
                raise
            warnings.append(f"{exc} (needed when the gateway starts)")
            # a stand-in key, so every other check still runs
            provider = provider.model_copy(update={"api_keys": ["aigate-config-check"]})
        providers[name] = provider
    _check_store_urls(config, warnings)
    # Store URLs are checked above; opening them here would create files and connections.
    update: dict[str, Any] = {"providers": providers, "ledger": None, "keys": None}
    budget = getattr(config, "budget", None)
    if budget is not None:
        update["budget"] = budget.model_copy(update={"store": "memory://", "rate_store": None})
    cache = getattr(config, "cache", None)
    if isinstance(cache, str):
        update["cache"] = "memory://"
    elif cache is not None:
        update["cache"] = cache.model_copy(update={"url": "memory://"})
    core = _core.GatewayCore(config.model_copy(update=update))
    closer = getattr(core, "close", None)
    if callable(closer):
        closer()
    return warnings


def _check_store_urls(config: Any, warnings: list[str]) -> None:
    ledger = getattr(config, "ledger", None)
    if isinstance(ledger, str):
        from .ledger import SCHEMES

        if not ledger.startswith(SCHEMES):
            raise ConfigurationError(
                f"ledger: URL scheme not supported; use one of {', '.join(SCHEMES)}",
                field="ledger",
            )
    keys = getattr(config, "keys", None)
    if keys is not None:
        url = keys if isinstance(keys, str) else keys.store
        pepper_env = "AIGATE_KEY_PEPPER" if isinstance(keys, str) else keys.pepper_env
        if not url.startswith(("memory://", "sqlite:///", "postgresql://", "postgres://")):
            raise ConfigurationError(
                "keys: key store URL not supported; use memory://, sqlite:///<path> or "
                "postgresql://",
                field="keys",
            )
        pepper = os.environ.get(pepper_env)
        if pepper:
            from .tenancy import _pepper

            _pepper(pepper, required=True)  # what Gateway.from_file checks: 16+ characters
        elif url != "memory://":
            warnings.append(
                f"keys: {pepper_env} is not set: Gateway.from_file refuses this file until it "
                "is (a random secret of 16+ characters, the same for every process)"
            )
    _check_packages(config)
    cache = getattr(config, "cache", None)
    url = cache if isinstance(cache, str) else getattr(cache, "url", None)
    if isinstance(url, str):
        from .cache import ACCEPTED_SCHEMES

        schemes = {item.split("://", 1)[0] for item in ACCEPTED_SCHEMES}
        if url.split("://", 1)[0] not in schemes or "://" not in url:
            raise ConfigurationError(
                f"cache: URL scheme not supported; use one of {', '.join(sorted(schemes))}",
                field="cache",
            )


#: URL schemes whose store needs an optional package: scheme -> the package's module.
_SCHEME_MODULES = {
    "redis": "redis",
    "rediss": "redis",
    "postgresql": "psycopg",
    "postgres": "psycopg",
}


def _store_urls(config: Any) -> Iterator[tuple[str, str]]:
    """``(field, url)`` for every store URL in a config."""
    cache = getattr(config, "cache", None)
    keys = getattr(config, "keys", None)
    budget = getattr(config, "budget", None)
    candidates = [
        ("ledger", getattr(config, "ledger", None)),
        ("cache" if isinstance(cache, str) else "cache.url", getattr(cache, "url", cache)),
        ("keys" if isinstance(keys, str) else "keys.store", getattr(keys, "store", keys)),
        ("budget.store", getattr(budget, "store", None)),
        ("budget.rate_store", getattr(budget, "rate_store", None)),
        ("router.health", getattr(getattr(config, "router", None), "health", None)),
    ]
    for field, url in candidates:
        if isinstance(url, str):
            yield field, url


def _check_packages(config: Any) -> None:
    """A store URL whose optional package is not installed is an error saying what to
    install (the gateway says the same at construction: one helper, `require_package`)."""
    from ._urls import require_package

    for field, url in _store_urls(config):
        module = _SCHEME_MODULES.get(url.partition("://")[0].lower())
        if module is not None:
            require_package(module, field=field, url=url)


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        warnings = check_config(args.file)
    except ConfigurationError as exc:
        err = _err()
        err.write(f"error: {args.file}: {exc}\n")
        if exc.field:
            err.write(f"  field: {exc.field}\n")
        return EXIT_USAGE
    config = _load_config(args.file)
    for warning in warnings:
        _err().write(f"{'error' if args.strict else 'warning'}: {warning}\n")
    if warnings and args.strict:
        return EXIT_USAGE
    routes = sorted(config.routes)
    _out().write(
        f"ok: {args.file}: {len(config.providers)} providers ({', '.join(config.providers)})"
        f", {len(routes)} routes ({', '.join(routes)})"
        + (f", ledger {config.ledger.split('://', 1)[0]}" if config.ledger else "")
        + "\n"
    )
    return EXIT_OK


def cmd_config_init(args: argparse.Namespace) -> int:
    """Write the commented example config (the package's ``_templates/aigate.toml``)."""
    from importlib.resources import files

    target = Path(args.path)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; pass --force to overwrite it")
    text = files("aigate").joinpath("_templates/aigate.toml").read_text(encoding="utf-8")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    _err().write(
        f"wrote {target}: runs offline as written (fake providers); "
        f"check it with `aigate config check {target}`\n"
    )
    return EXIT_OK


# -- chat ----------------------------------------------------------------------------------


def suggest_model(name: str, providers: Mapping[str, str], routes: Sequence[str]) -> str | None:
    """The closest known model name to ``name``: a route, or ``provider/model`` from the
    catalog for the given providers (name -> kind) first, then for any provider."""
    import difflib

    from .pricing import Catalog

    if name in routes:
        return None
    entries = Catalog.default().search()
    local = [*routes]
    for name_, kind in providers.items():
        local += [f"{name_}/{e.model}" for e in entries if e.provider == kind]
    everywhere = [f"{e.provider}/{e.model}" for e in entries]
    bare = name.partition("/")[2] if name.partition("/")[0] in providers else name
    for pool in (local, everywhere):
        exact = [m for m in pool if m.partition("/")[2] == bare or m.endswith("/" + bare)]
        if exact:
            return exact[0]
    for pool in (local, everywhere):
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
        if close:
            return close[0]
    return None


def _check_model(model: str, providers: Mapping[str, str], routes: Sequence[str]) -> None:
    """A usage error, with a suggestion, for a model that is neither a route nor names one
    of ``providers``."""
    if model in routes or ("/" in model and model.partition("/")[0] in providers):
        return
    known = {n: envs for n, envs, _ in CHAT_DEFAULTS}
    if model.partition("/")[0] in known and "/" in model:
        provider = model.partition("/")[0]
        raise UsageError(f"{model}: set {' or '.join(known[provider])} to call {provider}")
    hint = suggest_model(model, providers, routes)
    provider = model.partition("/")[0] if "/" in model else (hint or "").partition("/")[0]
    need = ""
    if provider in known and provider not in providers:
        need = f" (set {' or '.join(known[provider])} to call {provider})"
    where = f"providers {', '.join(sorted(providers))}" + (
        f", routes {', '.join(sorted(routes))}" if routes else ""
    )
    raise UsageError(
        f"--model {model}: not a route or a provider/model of this gateway ({where})"
        + (f"; did you mean {hint}?" if hint else "; use --config for custom providers")
        + need
    )


def _chat_gateway(args: argparse.Namespace) -> tuple[Any, str, str | None]:
    """The gateway, the model to call, and a note for stderr (offline mode)."""
    import aigate

    if args.config:
        gw = aigate.Gateway.from_file(args.config)
        model = args.model or next(iter(gw.routes), None)
        if model is None:
            gw.close()
            raise UsageError("--model is required: the config defines no route")
        kinds = {n: n if p.kind == "fake" else p.kind or n for n, p in gw.config.providers.items()}
        try:
            _check_model(model, kinds, list(gw.routes))
        except UsageError:
            gw.close()
            raise
        return gw, model, None
    providers: dict[str, Any] = {}
    default_model = None
    for name, envs, model in CHAT_DEFAULTS:
        if any(os.environ.get(env) for env in envs):
            providers[name] = {}
            default_model = default_model or f"{name}/{model}"
    note = None
    if not providers:
        providers = {"openai": {"kind": "fake"}}
        default_model = "openai/gpt-4o-mini"
        note = "no API key in the environment: answering with aigate's offline fake provider"
    model = args.model or default_model
    assert model is not None
    # the fake provider stands in for openai, and is priced like it
    _check_model(model, {name: name for name in providers}, [])
    return aigate.Gateway(providers=providers), model, note


def _catalog_note(gw: Any, model: str) -> str | None:
    """A note when ``provider/model`` is not in the catalog (it may be new: still sent)."""
    provider, _, name = model.partition("/")
    # a fake provider is priced like the real one it is named after
    kinds = {n: n if p.kind == "fake" else p.kind or n for n, p in gw.config.providers.items()}
    if model in gw.routes or provider not in kinds:
        return None
    from .pricing import Catalog

    if Catalog.default().get(kinds[provider], name) is not None:
        return None
    hint = suggest_model(model, kinds, [])
    return f"{model} is not in the catalog (unpriced)" + (
        f"; did you mean {hint}?" if hint and hint != model else ""
    )


def cmd_chat(args: argparse.Namespace) -> int:
    from ._report_html import format_usd
    from .pricing import to_nano

    gw, model, note = _chat_gateway(args)
    for line in (note, _catalog_note(gw, model)):
        if line:
            _err().write(f"note: {line}\n")
    messages = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    params: dict[str, Any] = {"model": model, "messages": messages}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    out = _out()
    with gw:
        if args.stream:
            with gw.chat.completions.create(stream=True, **params) as stream:
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        out.write(chunk.choices[0].delta.content)
                        out.flush()
            out.write("\n")
            info, usage = stream.gateway, stream.usage
        else:
            response = gw.chat.completions.create(**params)
            out.write((response.choices[0].message.content or "") + "\n")
            info, usage = response.gateway, response.usage
    if info is not None and not args.quiet:
        cost = format_usd(to_nano(info.cost_usd)) if info.cost_usd is not None else "unpriced"
        tokens = f"{usage.prompt_tokens}+{usage.completion_tokens} tokens" if usage else "? tokens"
        _err().write(
            f"[{info.provider}/{info.model}, {tokens}, {cost}, {info.latency_ms:.0f} ms, "
            f"{len(info.attempts)} attempt{'s' if len(info.attempts) != 1 else ''}]\n"
        )
    return EXIT_OK


# -- demo ----------------------------------------------------------------------------------


class Progress:
    """``[2/5] step name ... done in 12 ms`` lines on stderr."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.done = 0
        self.stream = stream

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.done += 1
        label = f"[{self.done}/{self.total}] {name}"
        self.stream.write(f"{label} ...\n")
        self.stream.flush()
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.stream.write(f"{label}: failed\n")
            raise
        self.stream.write(f"{label}: ok, {(time.perf_counter() - started) * 1000:.0f} ms\n")
        self.stream.flush()


def _demo_usd(value: Decimal | None) -> str:
    from ._report_html import format_usd
    from .pricing import to_nano

    return format_usd(to_nano(value)) if value is not None else "unpriced"


def cmd_demo(args: argparse.Namespace) -> int:
    import aigate

    from .config import GatewayConfig
    from .testing import FakeTransport, error, reply

    out = _out()
    fields = GatewayConfig.model_fields
    has_cache = "cache" in fields
    has_budget = "budget" in fields
    steps: list[tuple[str, Callable[[Any], None]]] = []

    overloaded = FakeTransport([error(503, "overloaded")], default=reply())
    config: dict[str, Any] = {
        "providers": {
            "groq": {"kind": "fake", "options": {"transport": overloaded}},
            "openai": {"kind": "fake"},
            "anthropic": {"kind": "fake"},
        },
        "routes": {
            "smart": ["groq/openai/gpt-oss-20b", "openai/gpt-4o-mini"],
            "claude": ["anthropic/claude-haiku-4-5"],
        },
        "ledger": args.ledger or "memory://",
    }
    if has_cache:
        config["cache"] = "memory://"
    hello = [{"role": "user", "content": "Say hello to aigate."}]

    def routing(gw: Any) -> None:
        r = gw.chat.completions.create(model="smart", messages=hello, metadata={"project": "demo"})
        info = r.gateway
        out.write(f"  reply:    {r.choices[0].message.content}\n")
        for attempt in info.attempts:
            status = attempt.status_code if attempt.status_code is not None else attempt.error
            out.write(f"  tried:    {attempt.provider}/{attempt.model} -> {status}\n")
        out.write(
            f"  answered: {info.provider}/{info.model} after {len(info.attempts)} attempts "
            "(groq was overloaded, so the route failed over)\n"
        )
        out.write(f"  cost:     {_demo_usd(info.cost_usd)} for {r.usage.total_tokens} tokens\n")

    def caching(gw: Any) -> None:
        if not has_cache:
            out.write("  skipped: this version's gateway has no response cache configured\n")
            return
        question = [{"role": "user", "content": "What is 2 + 2?"}]
        first = gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=question, temperature=0
        )
        second = gw.chat.completions.create(
            model="openai/gpt-4o-mini", messages=question, temperature=0
        )
        out.write(
            f"  first:    cached={first.gateway.cached}, cost {_demo_usd(first.gateway.cost_usd)}\n"
            f"  again:    cached={second.gateway.cached}, cost "
            f"{_demo_usd(second.gateway.cost_usd)}, saved "
            f"{_demo_usd(second.gateway.saved_cost_usd)}\n"
        )

    def streaming(gw: Any) -> None:
        out.write("  stream:   ")
        with gw.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "Count to five"}], stream=True
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    out.write(chunk.choices[0].delta.content)
                    out.flush()
        out.write(f"\n  cost:     {_demo_usd(stream.gateway.cost_usd)} (priced when it ended)\n")

    def traffic(gw: Any) -> None:
        users = ("ana", "bo", "chen", "dee")
        models = ("openai/gpt-4o-mini", "smart", "claude", "openai/gpt-4.1")
        for i in range(24):
            gw.chat.completions.create(
                model=models[i % len(models)],
                messages=[{"role": "user", "content": "word " * (5 + i * 7)}],
                user=users[i % len(users)],
                metadata={"project": ("search", "support", "demo")[i % 3]},
            )
        from ._report_html import format_usd

        for row in gw.usage.summary(group_by=["model"]):
            out.write(
                f"  {row.group['model'] or '-':<28} {row.requests:>3} calls  "
                f"{format_usd(row.cost_nano):>10}\n"
            )
        total = gw.usage.totals()
        out.write(f"  {'total':<28} {total.requests:>3} calls  {format_usd(total.cost_nano):>10}\n")

    def budget(gw: Any) -> None:
        if not has_budget:
            out.write("  skipped: this version's gateway has no budgets configured\n")
            return
        try:
            gw.chat.completions.create(
                model="openai/gpt-4.1",
                messages=[{"role": "user", "content": "A long essay please " * 50}],
                max_tokens=4000,
                user="intern",
            )
        except aigate.BudgetExceeded as exc:
            out.write(f"  stopped:  {type(exc).__name__}: {exc}\n")
        else:
            out.write("  the call fitted in the budget (no stop to show)\n")

    steps = [
        ("routing and failover", routing),
        ("response cache", caching),
        ("streaming", streaming),
        ("cost tracking: 24 more calls, then the whole ledger", traffic),
        ("budget stop", budget),
    ]
    if has_budget:
        # a tiny daily budget for the user "intern": the budget step's call cannot fit
        config["budget"] = {
            "limits": [{"scope": "user:intern", "amount": "0.001", "window": "day"}]
        }
    progress = Progress(len(steps), _err())
    out.write("aigate demo: offline, with fake providers priced like the real ones\n")
    with aigate.Gateway(config) as gw:
        for name, run in steps:
            with progress.step(name):
                out.write(f"\n== {name}\n")
                run(gw)
    if args.ledger:
        out.write(
            f"\nrecorded to {args.ledger}; try: aigate report --ledger {args.ledger} "
            "--group-by day,model --html report.html\n"
        )
    return EXIT_OK


# -- keys and budget -----------------------------------------------------------------------


def _store_url(args: argparse.Namespace, section: str, default: str | None = None) -> str:
    """The store URL from ``--store``, else the config's ``keys``/``budget`` section."""
    if args.store:
        return str(args.store)
    config = _load_config(args.config)
    value = getattr(config, section, None) if config is not None else None
    if isinstance(value, str):
        return value
    store = getattr(value, "store", None)
    if isinstance(store, str):
        return store
    if default is not None:
        return default
    raise UsageError(
        f"no {section} store: pass --store URL (sqlite:///keys.db, postgresql://...) or a "
        f"--config whose file has a [{section}] section"
    )


def _pepper_env(args: argparse.Namespace) -> str:
    config = _load_config(args.config)
    keys = getattr(config, "keys", None) if config is not None else None
    return str(getattr(keys, "pepper_env", None) or "AIGATE_KEY_PEPPER")


def _when_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _key_status(key: Any) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


def _key_dict(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "org": key.org,
        "project": key.project,
        "user": key.user,
        "models": list(key.models) if key.models is not None else None,
        "limits": [limit.to_dict() for limit in key.limits],
        "rate_limit": key.rate_limit.to_dict() if key.rate_limit is not None else None,
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "status": _key_status(key),
    }


def _expiry(text: str) -> datetime:
    """``30d``/``12h`` from now, or a date (midnight UTC) or an ISO time."""
    now = datetime.now(UTC)
    match = _RELATIVE.match(text.strip().lower())
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    when = parse_when(text, now=now)
    if isinstance(when, datetime):
        return when
    return datetime(when.year, when.month, when.day, tzinfo=UTC)


def _budget_option(text: str) -> dict[str, str]:
    """``5/day`` (USD), ``100000/month/tokens`` or ``50/1h/requests``."""
    amount, _, rest = text.partition("/")
    window, _, unit = rest.partition("/")
    if not amount or not window:
        raise UsageError(f"--budget {text!r}: expected AMOUNT/WINDOW[/UNIT], e.g. 5/day")
    return {"amount": amount, "window": window, "unit": unit or "usd"}


def cmd_keys(args: argparse.Namespace) -> int:
    from .tenancy import open_key_store

    url = _store_url(args, "keys")
    if url == "memory://":
        _err().write("warning: a memory:// key store lives only as long as this command\n")
    pepper_env = _pepper_env(args)
    pepper = os.environ.get(pepper_env)
    if not pepper and url != "memory://":
        raise UsageError(
            f"virtual keys need a pepper in ${pepper_env}: a random secret of 16+ characters, "
            "the same for every process using these keys (losing it voids every key). Make one "
            f"with: export {pepper_env}=\"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')\""
        )
    with contextlib.closing(open_key_store(url, pepper=pepper)) as store:
        out = _out()
        if args.action == "create":
            expires = _expiry(args.expires) if args.expires else None
            rate = {k: v for k, v in (("rpm", args.rpm), ("tpm", args.tpm)) if v is not None}
            secret, key = store.create(
                name=args.name,
                org=args.org,
                project=args.project,
                user=args.user,
                models=args.models or None,
                budget=[_budget_option(b) for b in args.budget or ()] or None,
                rate_limit=rate or None,
                expires_at=expires,
            )
            if args.json:
                out.write(json.dumps({"secret": secret, **_key_dict(key)}, indent=2) + "\n")
            else:
                out.write(f"{secret}\n")
                _err().write(f"created {key.id}: the secret above is shown once and never stored\n")
            return EXIT_OK
        if args.action == "revoke":
            if not args.key_id:
                raise UsageError("keys revoke needs the key id (vk_...)")
            key = store.revoke(args.key_id)
            out.write(f"revoked {key.id} at {_when_text(key.revoked_at)} UTC\n")
            return EXIT_OK
        keys = store.list(include_revoked=not args.active)
        if args.json:
            out.write(json.dumps([_key_dict(k) for k in keys], indent=2) + "\n")
            return EXIT_OK
        if not keys:
            out.write("no keys\n")
            return EXIT_OK
        rows = [
            [
                k.id,
                k.name or "-",
                "/".join(v or "-" for v in (k.org, k.project, k.user)),
                ",".join(k.models) if k.models is not None else "*",
                str(len(k.limits)),
                _when_text(k.created_at),
                _when_text(k.expires_at),
                _key_status(k),
            ]
            for k in keys
        ]
        headers = ["id", "name", "org/project/user", "models", "limits", "created", "expires"]
        out.write(render_table([*headers, "status"], rows) + "\n")
    return EXIT_OK


def _limit_context(limit: Any, wanted: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The scope (and metadata) a limit's counter is found under, or empty for a limit
    that needs a ``--scope`` value it was not given."""
    kind, _, value = limit.scope.partition(":")
    if kind == "global":
        return {"_": "global"}, {}
    if kind == "meta":
        name, _, tag = value.partition("=")
        tag = wanted.get(f"meta:{name}", "") if tag == "*" else tag
        return ({"_": "meta"}, {name: tag}) if tag else ({}, {})
    if value == "*":
        value = wanted.get(kind, "")
    return ({kind: value}, {}) if value else ({}, {})


def cmd_budget(args: argparse.Namespace) -> int:
    from .budget import Budgets, open_budget_store

    config = _load_config(args.config)
    limits: list[Any] = list(config.budget.limits) if config and config.budget else []
    limits += [_limit_option(text) for text in args.limit or ()]
    if not limits:
        raise UsageError("no budget limits: pass a --config with [budget] limits, or --limit")
    wanted = _pairs([s.replace(":", "=", 1) for s in args.scope or ()], "--scope")
    budgets = Budgets(limits)
    url = _store_url(args, "budget", default="memory://")
    rows: list[dict[str, Any]] = []
    needs_scope: list[str] = []
    with contextlib.closing(open_budget_store(url)) as store:
        planned: list[tuple[Any, Any]] = []
        for limit in budgets.limits:
            scope, metadata = _limit_context(limit, wanted)
            if not scope:
                needs_scope.append(limit.scope)
                continue
            scope = {k: v for k, v in scope.items() if k != "_"}
            charges = Budgets([limit]).plan(
                scope, metadata=metadata, estimate_nano=0, tokens=0, requests=0
            )
            planned.extend((limit, charge) for charge in charges)
        counters = store.status([charge.key for _, charge in planned])
    from .budget._plan import scope_of

    for limit, charge in planned:
        counter = counters[charge.key]
        rows.append(
            {
                "scope": scope_of(charge.key),
                "window": limit.window,
                "unit": limit.unit,
                "spent": _amount(limit.unit, counter.spent),
                "reserved": _amount(limit.unit, counter.reserved),
                "limit": _amount(limit.unit, charge.cap),
                "used": counter.spent / charge.cap if charge.cap else 0.0,
                "hard": limit.hard,
                "resets_at": charge.resets_at.isoformat() if charge.resets_at else None,
            }
        )
    if args.json:
        _out().write(json.dumps({"store": url.split("://", 1)[0], "budgets": rows}) + "\n")
    else:
        from ._report_html import safe_url

        table = [
            [
                r["scope"],
                r["window"],
                _units(r["unit"], r["spent"]),
                _units(r["unit"], r["reserved"]),
                _units(r["unit"], r["limit"]),
                f"{r['used']:.0%}",
                "hard" if r["hard"] else "soft",
                (r["resets_at"] or "-")[:16].replace("T", " "),
            ]
            for r in rows
        ]
        headers = ["scope", "window", "spent", "reserved", "limit", "used", "kind", "resets"]
        right = [False, False, True, True, True, True, False, False]
        _out().write(f"budgets in {safe_url(url)}\n" + render_table(headers, table, right) + "\n")
    for needed in needs_scope:
        kind = needed.split(":", 1)[0]
        _err().write(f"note: {needed} is per {kind}: add --scope {kind}:NAME to see one\n")
    return EXIT_OK


def _limit_option(text: str) -> dict[str, str]:
    """``--limit user:ana=5/day`` (scope=AMOUNT/WINDOW[/UNIT])."""
    scope, sep, rest = text.rpartition("=")
    if not sep:
        raise UsageError(f"--limit {text!r}: expected SCOPE=AMOUNT/WINDOW, e.g. user:ana=5/day")
    return {"scope": scope, **_budget_option(rest)}


def _amount(unit: str, value: int) -> str:
    """An exact amount in the limit's unit, for JSON: USD as a decimal string."""
    if unit == "usd":
        return format(Decimal(value).scaleb(-9).normalize(), "f")
    return str(value)


def _units(unit: str, amount: str) -> str:
    from ._report_html import format_usd
    from .pricing import to_nano

    if unit == "usd":
        return format_usd(to_nano(Decimal(amount)))
    return f"{int(amount):,} {unit}"


# -- the parser ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with "did you mean ..." on a mistyped command or option."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(_err())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{_suggestion(self, message)}\n")


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option of ``parser`` and of its sub-commands, recursively."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found |= _option_strings(child)
    return found


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    import difflib

    choice = re.match(r"argument \S+: invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        options = [c.strip(" '") for c in choice.group(2).split(",")]
        close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.5)
        return f"; did you mean {close[0]!r}?" if close else ""
    unknown = re.match(r"unrecognized arguments: (.*)", message)
    if unknown:
        known = sorted(_option_strings(parser))
        hints = []
        for word in unknown.group(1).split():
            name = word.split("=", 1)[0]
            if name.startswith("--"):
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                if close:
                    hints.append(close[0])
        return f"; did you mean {' or '.join(hints)}?" if hints else ""
    return ""


def _register_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="an offline tour: routing, failover, cache, cost, budget")
    demo.add_argument("--ledger", help="keep the demo's calls in this ledger (sqlite:///demo.db)")
    demo.set_defaults(run=cmd_demo)


def _register_chat(sub: Any) -> None:
    chat = sub.add_parser("chat", help="send one prompt and print the answer")
    chat.add_argument("prompt")
    chat.add_argument("--model", "-m", help="provider/model or a route (default: by keys found)")
    chat.add_argument("--stream", "-s", action="store_true", help="print the answer as it comes")
    chat.add_argument("--config", "-c", help="a gateway config file (.toml or .json)")
    chat.add_argument("--system", help="a system message")
    chat.add_argument("--max-tokens", type=int)
    chat.add_argument("--temperature", type=float)
    chat.add_argument("--quiet", "-q", action="store_true", help="no cost line on stderr")
    chat.set_defaults(run=cmd_chat)


def _register_models(sub: Any) -> None:
    models = sub.add_parser("models", help="search the model catalog (prices, context, features)")
    models.add_argument("--search", "-s", help="text in provider/model")
    models.add_argument("--provider", "-p")
    models.add_argument(
        "--capability", action="append", help="required capability (repeat for several)"
    )
    models.add_argument("--max-input-price", help="USD per 1M input tokens, at most")
    models.add_argument("--min-context", type=int, help="context window, in tokens, at least")
    models.add_argument("--mode", help="chat, embedding, audio_transcription, ...")
    models.add_argument("--config", "-c", help="apply this config's prices and providers")
    models.add_argument("--limit", type=int, default=50, help="rows to show (0: all)")
    models.add_argument("--json", action="store_true", help="JSON instead of a table")
    models.set_defaults(run=cmd_models)


def _register_report(sub: Any) -> None:
    report = sub.add_parser("report", help="usage and cost from the ledger")
    report.add_argument("--ledger", "-l", help="ledger URL (default: the config's, $AIGATE_LEDGER)")
    report.add_argument("--config", "-c", help="read the ledger URL from this config")
    report.add_argument("--since", help="YYYY-MM-DD, ISO time, today, yesterday, 7d, 24h")
    report.add_argument("--until", help="exclusive end, same forms as --since")
    report.add_argument(
        "--group-by",
        "-g",
        help="comma list of day, hour, month, model, provider, project, user, org, key, "
        "route, status, kind, meta:<tag> (default: model)",
    )
    report.add_argument("--where", "-w", action="append", help="filter NAME=VALUE (repeatable)")
    report.add_argument("--by", default="user", help="top spenders grouped by (default: user)")
    report.add_argument("--top", type=int, default=10, help="top spenders to list (0: none)")
    report.add_argument("--csv", nargs="?", const="-", metavar="FILE", help="CSV (to FILE)")
    report.add_argument("--json", nargs="?", const="-", metavar="FILE", help="JSON (to FILE)")
    report.add_argument("--html", metavar="FILE", help="a self-contained HTML page with charts")
    report.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    report.add_argument(
        "--reprice",
        action="store_true",
        help="first store the cost of calls recorded without one, from today's prices",
    )
    report.set_defaults(run=cmd_report)


def _register_config(sub: Any) -> None:
    config = sub.add_parser("config", help="configuration tools: check, init")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    check = config_sub.add_parser("check", help="validate a config file (exit 2 on error)")
    check.add_argument("file")
    check.add_argument(
        "--strict",
        action="store_true",
        help="check it for this environment too: a key or pepper it reads from the "
        "environment and does not find is an error",
    )
    check.set_defaults(run=cmd_config_check)
    init = config_sub.add_parser("init", help="write a commented example aigate.toml")
    init.add_argument("path", nargs="?", default="aigate.toml", help="(default: aigate.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=cmd_config_init)


def _register_keys(sub: Any) -> None:
    keys = sub.add_parser("keys", help="virtual keys: create, list, revoke")
    keys.add_argument("action", choices=("create", "list", "revoke"))
    keys.add_argument("key_id", nargs="?", help="the key to revoke (vk_...)")
    keys.add_argument("--store", help="key store URL (default: the config's [keys] store)")
    keys.add_argument("--config", "-c")
    keys.add_argument("--name")
    keys.add_argument("--org")
    keys.add_argument("--project")
    keys.add_argument("--user")
    keys.add_argument("--models", action="append", help="allowed model glob (repeatable)")
    keys.add_argument(
        "--budget", action="append", help="AMOUNT/WINDOW[/UNIT], e.g. 5/day (repeatable)"
    )
    keys.add_argument("--rpm", type=int, help="requests per minute")
    keys.add_argument("--tpm", type=int, help="tokens per minute")
    keys.add_argument("--expires", help="30d, 12h, or a date/time")
    keys.add_argument("--active", action="store_true", help="list: hide revoked keys")
    keys.add_argument("--json", action="store_true")
    keys.set_defaults(run=cmd_keys)


def _register_budget(sub: Any) -> None:
    budget = sub.add_parser("budget", help="budgets: what each limit has spent in its window")
    budget.add_argument("action", choices=("status",))
    budget.add_argument("--store", help="budget store URL (default: the config's)")
    budget.add_argument("--config", "-c", help="read [budget] limits and store from here")
    budget.add_argument(
        "--limit", action="append", help="SCOPE=AMOUNT/WINDOW[/UNIT] to show (repeatable)"
    )
    budget.add_argument(
        "--scope", action="append", help="a value for per-tenant limits: user:ana (repeatable)"
    )
    budget.add_argument("--json", action="store_true")
    budget.set_defaults(run=cmd_budget)


#: Every sub-command, in ``--help`` order: each is a ``register(subparsers)`` function that
#: adds its parser and sets ``run`` (a ``(Namespace) -> exit status`` callable). A command
#: living in another module adds one line here.
def _register_prices(subparsers: Any) -> None:
    from ._cli_prices import register

    register(subparsers)


def _register_dashboard(subparsers: Any) -> None:
    from .dashboard._cli import register

    register(subparsers)


COMMANDS: tuple[Callable[[Any], None], ...] = (
    _register_demo,
    _register_chat,
    _register_models,
    _register_report,
    _register_config,
    _register_keys,
    _register_budget,
    _register_prices,
    _register_dashboard,
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aigate",
        description="aigate: an in-process AI gateway. Reports, model catalog, config "
        "checks, a chat prompt and an offline demo.",
    )
    parser.add_argument("--version", action="version", version=f"aigate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aigate`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        if args.command == "config":
            parser.parse_args(["config", "--help"])
        parser.print_help(_err())
        return EXIT_USAGE
    try:
        return run(args)
    except UsageError as exc:
        _err().write(f"error: {exc}\n")
        return EXIT_USAGE
    except ConfigurationError as exc:
        _err().write(f"error: {exc}\n" + (f"  field: {exc.field}\n" if exc.field else ""))
        return EXIT_USAGE
    except AigateError as exc:
        _err().write(f"error: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err().write("interrupted\n")
        return 130
    except BrokenPipeError:  # `aigate models | head`
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
