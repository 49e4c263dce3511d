"""Model catalog (prices, context windows, capabilities) and exact cost.

Prices are ``Decimal`` USD per token; costs are exact ``Decimal`` sums, stored as integer
nano-dollars with :func:`to_nano`. An unknown price is ``None`` and stays ``None`` in every
result, never a silent 0.

>>> catalog = Catalog.default()
>>> info = catalog.get("openai", "gpt-4o-2024-08-06")   # date suffix tolerated
>>> cost(usage, info.price)                              # Decimal('0.0001475') or None

The packaged catalog is generated from LiteLLM's MIT price table by
``scripts/generate_catalog.py``; :meth:`Catalog.with_overrides` adds or corrects models
without touching it, and :meth:`Catalog.from_file` loads a newer copy.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Any

from ._models import Usage

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "Catalog",
    "ModelInfo",
    "ModelPrice",
    "cost",
    "cost_breakdown",
    "estimate_cost",
    "from_nano",
    "reported_cost",
    "to_nano",
    "transcription_cost",
    "user_prices_path",
    "warn_if_stale",
    "write_user_prices",
]

logger = logging.getLogger("aigate.pricing")

#: A catalog snapshot older than this many days is reported as stale (a warning, once per
#: process). ``AIGATE_PRICES_MAX_AGE_DAYS`` changes it; 0 turns the warning off.
DEFAULT_MAX_AGE_DAYS = 90

_DATA = Path(__file__).parent / "_data" / "catalog.json"
_NANO = Decimal(1_000_000_000)
_MILLION = Decimal(1_000_000)
_PRICE_NAMES = (
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "reasoning",
    "audio_input",
    "audio_output",
    "input_per_second",
)
# Per-token prices that may also be given per million tokens in overrides.
_PER_MILLION = {f"{name}_per_million": name for name in _PRICE_NAMES if name != "input_per_second"}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token for each token category (``input_per_second``: per second of audio).

    ``None`` means the price is unknown. ``long_context`` is the tier some models charge for
    the *whole* request once the prompt exceeds ``long_context_threshold`` tokens (Gemini 2.5
    Pro above 200k, GPT-5.4 above 272k); its ``None`` fields fall back to the base prices.
    """

    input: Decimal | None = None
    cached_input: Decimal | None = None  # cache read
    cache_write: Decimal | None = None  # 5-minute / default cache write
    cache_write_1h: Decimal | None = None  # 1-hour cache write (Anthropic)
    output: Decimal | None = None
    reasoning: Decimal | None = None  # only where priced apart from output
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    input_per_second: Decimal | None = None  # transcription
    long_context_threshold: int | None = None
    long_context: ModelPrice | None = None

    def at(self, prompt_tokens: int) -> ModelPrice:
        """The prices that apply to a request with ``prompt_tokens`` prompt tokens."""
        tier = self.long_context
        if tier is None or self.long_context_threshold is None:
            return self
        if prompt_tokens <= self.long_context_threshold:
            return self
        merged = {
            name: getattr(tier, name) if getattr(tier, name) is not None else getattr(self, name)
            for name in _PRICE_NAMES
        }
        return ModelPrice(**merged)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One catalog entry: what a model costs and what it can do."""

    provider: str
    model: str
    mode: str = "chat"
    price: ModelPrice = field(default_factory=ModelPrice)
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: frozenset[str] = frozenset()
    deprecation_date: str | None = None


# -- catalog -------------------------------------------------------------------------------

_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")
_GEMINI_VERSION = re.compile(r"-\d{3}$")  # gemini-2.0-flash-001 -> gemini-2.0-flash
# OpenRouter vendor prefix -> the provider kind whose catalog rows price that vendor's models.
# OpenRouter passes the upstream provider's price through (openrouter.ai/docs/faq), and the
# source table has no OpenRouter rows, so those rows are the best price we have.
_OPENROUTER_VENDORS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gemini",
    "mistralai": "mistral",
    "deepseek": "deepseek",
}
_LOOKUP_CACHE_MAX = 4096

_default: Catalog | None = None
_default_lock = threading.Lock()


class Catalog:
    """An immutable set of :class:`ModelInfo`, keyed by ``(provider, model)``."""

    __slots__ = ("_aliases", "_entries", "_lookups", "overrides_from", "snapshot_date")

    def __init__(
        self,
        entries: Iterable[ModelInfo] = (),
        *,
        snapshot_date: date | None = None,
        overrides_from: str | None = None,
    ) -> None:
        #: The day the prices were taken from their source (``None``: not known).
        self.snapshot_date = snapshot_date
        #: The user-level price file merged into this catalog, if any (``aigate prices
        #: update`` writes it).
        self.overrides_from = overrides_from
        self._entries: dict[tuple[str, str], ModelInfo] = {
            (info.provider, info.model): info for info in entries
        }
        # "gpt-4o-audio-preview" -> the newest dated row when only dated rows exist.
        aliases: dict[tuple[str, str], str] = {}
        for provider, model in sorted(self._entries):
            base = _DATE_SUFFIX.sub("", model)
            if base != model and (provider, base) not in self._entries:
                aliases[(provider, base)] = model  # sorted, so the newest date wins
        self._aliases = aliases
        self._lookups: dict[tuple[str, str], ModelInfo | None] = {}

    # -- construction ------------------------------------------------------------------

    @classmethod
    def default(cls, *, reload: bool = False) -> Catalog:
        """The catalog shipped with aigate merged with the user-level price file (see
        :func:`user_prices_path`), loaded once on first use (thread-safe); ``reload``
        reads both again. Warns once if the snapshot is stale (:func:`warn_if_stale`)."""
        global _default
        catalog = _default
        if catalog is None or reload:
            loaded = cls.from_file(_DATA)  # file I/O outside the lock
            user = user_prices_path()
            if user is not None and user.is_file():
                loaded = loaded.merged_with_file(user)
            with _default_lock:
                if _default is None or reload:
                    _default = loaded
                catalog = _default
            warn_if_stale(catalog)
        return catalog

    def merged_with_file(self, path: str | Path) -> Catalog:
        """This catalog with a price file's entries over it (a catalog-format file, or a
        ``{"provider/model": {...}}`` override table); the newer snapshot date wins."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read price file {path}: {exc}") from None
        return self._merged(data, str(path))

    def _merged(self, data: Any, source: str) -> Catalog:
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: a price file holds a JSON object of models")
        entries = {k: v for k, v in data.items() if not str(k).startswith("_")}
        for name, values in entries.items():
            if not isinstance(values, Mapping):
                raise ValueError(f"{source}: {name}: expected an object of prices")
        merged = self.with_overrides(entries)
        theirs = _meta_date(data.get("_meta"))
        ours = self.snapshot_date
        merged.snapshot_date = max(d for d in (ours, theirs) if d) if (ours or theirs) else None
        merged.overrides_from = source
        return merged

    @classmethod
    def from_file(cls, path: str | Path) -> Catalog:
        """Load a catalog in the format ``scripts/generate_catalog.py`` writes."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        """Build from ``{"provider/model": {field: value}}``; keys starting ``_`` are metadata
        (``_meta.snapshot_date``, ``YYYY-MM-DD``, is the day the prices were taken)."""
        infos = []
        for name, entry in data.items():
            if name.startswith("_"):
                continue
            provider, model = _split_name(name)
            infos.append(_apply(ModelInfo(provider, model), entry, name, strict=False))
        return cls(infos, snapshot_date=_meta_date(data.get("_meta")))

    def with_overrides(self, entries: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """A new catalog with entries added or corrected; this one is unchanged.

        Keys are ``"provider/model"`` (``"ollama/llama3"``, ``"openrouter/x/y"``). Values set
        any of: ``input``, ``cached_input``, ``cache_write``, ``cache_write_1h``, ``output``,
        ``reasoning``, ``audio_input``, ``audio_output`` (USD per token), the same names with
        ``_per_million`` (USD per million tokens, e.g. ``{"input_per_million": "0.15"}``),
        ``input_per_second``, ``mode``, ``context_window``, ``max_output_tokens``,
        ``capabilities`` (an iterable of names) and ``deprecation_date``. Prices accept
        ``str``, ``Decimal``, ``int`` or ``float`` (converted through ``str``, so ``0.15`` is
        exactly 0.15) and ``None`` to make a price unknown. A new model starts with every
        price unknown: ``{"ollama/llama3": {"input": 0, "output": 0}}`` prices a local model
        at exactly 0. Overriding any price of an existing model drops its long-context tier
        (the override is taken as the whole price). Unknown keys raise ``ValueError``.
        """
        merged = dict(self._entries)
        for name, values in entries.items():
            provider, model = _split_name(name)
            base = merged.get((provider, model)) or ModelInfo(provider, model)
            merged[(provider, model)] = _apply(base, values, name, strict=True)
        return Catalog(
            merged.values(), snapshot_date=self.snapshot_date, overrides_from=self.overrides_from
        )

    def age_days(self, today: date | None = None) -> int | None:
        """Days since :attr:`snapshot_date` (``None`` when the date is unknown)."""
        if self.snapshot_date is None:
            return None
        today = today or datetime.now(timezone.utc).date()
        return (today - self.snapshot_date).days

    # -- lookup ------------------------------------------------------------------------

    def get(self, provider: str, model: str) -> ModelInfo | None:
        """The entry for ``model`` at ``provider``, or ``None`` when it is unknown.

        Exact match first, then tolerant forms: a trailing date (``-2024-08-06``,
        ``-20241022``) stripped or, when only dated rows exist, the newest of them; Gemini's
        ``models/`` prefix and ``-001`` version suffix; OpenAI fine-tunes
        (``ft:gpt-4o-mini-2024-07-18:org::id`` -> the ``ft:gpt-4o-mini-2024-07-18`` row, never
        the cheaper base model); and for OpenRouter, the upstream vendor's row
        (``anthropic/claude-sonnet-4.5`` -> anthropic ``claude-sonnet-4-5``), returned under
        the OpenRouter name.
        """
        key = (provider, model)
        try:
            return self._lookups[key]
        except KeyError:
            pass
        found = self._find(provider, model)
        if len(self._lookups) < _LOOKUP_CACHE_MAX:
            self._lookups[key] = found  # dict assignment is atomic; races only recompute
        return found

    def _find(self, provider: str, model: str) -> ModelInfo | None:
        for candidate in _candidates(provider, model):
            info = self._entries.get((provider, candidate))
            if info is None:
                alias = self._aliases.get((provider, candidate))
                info = self._entries.get((provider, alias)) if alias else None
            if info is not None:
                return info
        if provider == "openrouter" and model.endswith(":free"):
            # OpenRouter's ":free" variants cost nothing (openrouter.ai/docs/api-reference/
            # limits: free models, rate-limited); the paid variant's facts still apply.
            paid = self.get(provider, model[: -len(":free")])
            base = paid or ModelInfo(provider, model)
            zero = Decimal(0)
            return replace(base, model=model, price=ModelPrice(input=zero, output=zero))
        if provider == "openrouter" and "/" in model:
            vendor, _, upstream_model = model.partition("/")
            upstream = _OPENROUTER_VENDORS.get(vendor)
            if upstream is not None:
                upstream_model = upstream_model.split(":", 1)[0]  # ":free", ":nitro" variants
                for candidate in (upstream_model, upstream_model.replace(".", "-")):
                    info = self.get(upstream, candidate)
                    if info is not None:
                        return replace(info, provider=provider, model=model)
        return None

    def search(
        self,
        *,
        provider: str | None = None,
        capability: str | Iterable[str] | None = None,
        max_input_price: Decimal | str | int | float | None = None,
        min_context: int | None = None,
        text: str | None = None,
        mode: str | None = None,
    ) -> list[ModelInfo]:
        """Entries matching every given filter, sorted by provider then model.

        ``capability`` is one name or several (all required); ``max_input_price`` is USD per
        input token and excludes models whose input price is unknown; ``text`` is a
        case-insensitive substring of ``"provider/model"``.
        """
        wanted = {capability} if isinstance(capability, str) else set(capability or ())
        limit = (
            _decimal(max_input_price, "max_input_price") if max_input_price is not None else None
        )
        needle = text.casefold() if text else None
        out = []
        for (prov, model), info in sorted(self._entries.items()):
            if provider is not None and prov != provider:
                continue
            if mode is not None and info.mode != mode:
                continue
            if wanted and not wanted <= info.capabilities:
                continue
            if limit is not None and (info.price.input is None or info.price.input > limit):
                continue
            if min_context is not None and (info.context_window or 0) < min_context:
                continue
            if needle is not None and needle not in f"{prov}/{model}".casefold():
                continue
            out.append(info)
        return out

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter([self._entries[key] for key in sorted(self._entries)])

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __repr__(self) -> str:
        when = f", prices of {self.snapshot_date}" if self.snapshot_date else ""
        return f"<Catalog {len(self._entries)} models{when}>"


def _meta_date(meta: Any) -> date | None:
    value = meta.get("snapshot_date") if isinstance(meta, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# -- staleness and the user-level price file ------------------------------------------------

_warned: set[tuple[date, int]] = set()


def max_age_days() -> int:
    """``AIGATE_PRICES_MAX_AGE_DAYS`` (a whole number of days, 0: never warn), else 90."""
    raw = os.environ.get("AIGATE_PRICES_MAX_AGE_DAYS", "").strip()
    if raw.isdigit():
        return int(raw)
    if raw:
        logger.warning("AIGATE_PRICES_MAX_AGE_DAYS=%r is not a whole number of days", raw)
    return DEFAULT_MAX_AGE_DAYS


def staleness(
    catalog: Catalog, max_age: int | None = None, today: date | None = None
) -> str | None:
    """The warning for a catalog older than ``max_age`` days (default :func:`max_age_days`),
    or ``None`` when it is fresh enough, undated, or the check is off (0)."""
    limit = max_age_days() if max_age is None else max_age
    age = catalog.age_days(today)
    if not limit or age is None or age <= limit:
        return None
    return (
        f"aigate's model prices are {age} days old (snapshot of {catalog.snapshot_date}): "
        "new models may be unpriced and prices may have changed. Update them with "
        "`aigate prices update --from FILE_OR_URL`, or set AIGATE_PRICES_MAX_AGE_DAYS "
        "(0 turns this warning off)"
    )


def warn_if_stale(catalog: Catalog, max_age: int | None = None) -> str | None:
    """Log :func:`staleness`'s warning, once per process per snapshot; returns it."""
    message = staleness(catalog, max_age)
    if message is not None and catalog.snapshot_date is not None:
        key = (catalog.snapshot_date, max_age if max_age is not None else max_age_days())
        if key not in _warned:
            _warned.add(key)
            logger.warning(message)
    return message


def user_prices_path() -> Path | None:
    """Where ``aigate prices update`` writes and every catalog reads user-level prices:
    ``$AIGATE_PRICES_FILE`` (empty: none), else ``$XDG_CONFIG_HOME/aigate/prices.json``
    (``~/.config/aigate/prices.json``)."""
    explicit = os.environ.get("AIGATE_PRICES_FILE")
    if explicit is not None:
        return Path(explicit).expanduser() if explicit.strip() else None
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "aigate" / "prices.json"


def write_user_prices(
    data: Mapping[str, Any],
    *,
    source: str,
    path: str | Path | None = None,
    snapshot_date: date | None = None,
) -> tuple[Path, int]:
    """Validate a price table and write it as the user-level price file, atomically.

    ``data`` is a catalog-format object or an override table (``{"provider/model":
    {"input_per_million": "0.15", ...}}``); every entry is checked by merging it into the
    packaged catalog first, so a bad file never replaces a good one. The file is written
    to a temporary file beside the target and renamed over it. Returns (path, models).
    """
    target = Path(path) if path is not None else user_prices_path()
    if target is None:
        raise ValueError("no user price file: AIGATE_PRICES_FILE is set empty")
    base = Catalog.from_file(_DATA)
    base._merged(data, source)  # raises ValueError naming the bad entry
    entries = {str(k): v for k, v in data.items() if not str(k).startswith("_")}
    when = snapshot_date or _meta_date(data.get("_meta")) or datetime.now(timezone.utc).date()
    meta = {"format": 1, "snapshot_date": when.isoformat(), "source": _safe_source(source)}
    lines = [f'"_meta":{json.dumps(meta, sort_keys=True, separators=(",", ":"))}']
    for name in sorted(entries):
        body = json.dumps(entries[name], sort_keys=True, separators=(",", ":"), default=str)
        lines.append(f"{json.dumps(name)}:{body}")
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".prices-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target, len(entries)


def _safe_source(source: str) -> str:
    # a URL's credentials and query (a token may be there) are never written down
    found = re.match(r"^([a-z][a-z0-9+.-]*://)(?:[^@/]*@)?([^?#]*)", source, re.IGNORECASE)
    return found.group(1) + found.group(2) if found else source


def _candidates(provider: str, model: str) -> Iterator[str]:
    yield model
    if provider == "gemini" and model.startswith("models/"):
        model = model[len("models/") :]
        yield model
    if model.startswith("ft:"):
        # ft:<base>:<org>:<suffix>:<id> is priced by its own "ft:<base>" row.
        base = "ft:" + model[3:].split(":", 1)[0]
        yield base
        undated = _DATE_SUFFIX.sub("", base)
        if undated != base:
            yield undated
        return
    undated = _DATE_SUFFIX.sub("", model)
    if undated != model:
        yield undated
    if provider == "gemini":
        unversioned = _GEMINI_VERSION.sub("", undated)
        if unversioned != undated:
            yield unversioned


def _split_name(name: str) -> tuple[str, str]:
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise ValueError(f"catalog key {name!r} is not 'provider/model'")
    return provider, model


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what}: {value!r} is not a number") from None
    else:
        raise ValueError(f"{what}: expected a number, got {type(value).__name__}")
    if not result.is_finite() or result < 0:
        raise ValueError(f"{what}: {value!r} is not a finite non-negative number")
    return result


def _optional_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what}: expected a non-negative int, got {value!r}")
    return value


def _parse_price(values: Mapping[str, Any], name: str) -> ModelPrice:
    kwargs: dict[str, Any] = {}
    for key in _PRICE_NAMES:
        if values.get(key) is not None:
            kwargs[key] = _decimal(values[key], f"{name}.{key}")
    return ModelPrice(**kwargs)


def _apply(info: ModelInfo, values: Mapping[str, Any], name: str, *, strict: bool) -> ModelInfo:
    """``info`` with ``values`` (catalog-file or override fields) applied."""
    price_updates: dict[str, Decimal | None] = {}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key in _PRICE_NAMES or key in _PER_MILLION:
            target = _PER_MILLION.get(key, key)
            if strict and key in _PER_MILLION and target in values:
                raise ValueError(
                    f"{name}: {target!r} (USD per token) and {key!r} (USD per million "
                    f"tokens) both set the {target} price; write only {key!r}"
                )
            if value is None:
                price_updates[target] = None
            else:
                amount = _decimal(value, f"{name}.{key}")
                price_updates[target] = amount / _MILLION if key in _PER_MILLION else amount
        elif key == "long_context":
            if not isinstance(value, Mapping) or "threshold" not in value:
                raise ValueError(f"{name}.long_context needs a 'threshold'")
            changes["long_context"] = (
                _optional_int(value["threshold"], f"{name}.long_context.threshold"),
                _parse_price(value, f"{name}.long_context"),
            )
        elif key == "mode":
            changes["mode"] = str(value)
        elif key in ("context_window", "max_output_tokens"):
            changes[key] = _optional_int(value, f"{name}.{key}")
        elif key == "capabilities":
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{name}.capabilities: expected an iterable of names")
            changes["capabilities"] = frozenset(str(item) for item in value)
        elif key == "deprecation_date":
            changes["deprecation_date"] = None if value is None else str(value)
        elif strict:
            raise ValueError(f"{name}: unknown catalog field {key!r}")
    price = info.price
    if price_updates:
        # An explicit price is the whole truth: the table's long-context tier goes with it.
        price = replace(price, long_context=None, long_context_threshold=None, **price_updates)
    tier = changes.pop("long_context", None)
    if tier is not None:
        price = replace(price, long_context_threshold=tier[0], long_context=tier[1])
    return replace(info, price=price, **changes)


# -- cost ----------------------------------------------------------------------------------


def _n(value: int | None) -> int:
    return value if value else 0


def cost_breakdown(usage: Usage, price: ModelPrice) -> dict[str, Decimal]:
    """Cost in USD per token category, for the categories with tokens.

    Categories: ``input`` (uncached text), ``cached_input``, ``cache_write``,
    ``cache_write_1h``, ``audio_input``, ``output`` (text, including reasoning unless it is
    priced apart), ``reasoning``, ``audio_output``. Every token is in exactly one category
    (see :func:`cost`). A category whose price is unknown, after the fallbacks :func:`cost`
    documents, is left out; ``sum(cost_breakdown(u, p).values()) == cost(u, p)`` whenever
    ``cost`` is not ``None``.
    """
    return _breakdown(usage, price)[0]


def cost(usage: Usage, price: ModelPrice) -> Decimal | None:
    """Exact cost in USD of ``usage`` at ``price``, or ``None`` if a needed price is unknown.

    ``usage`` is in OpenAI's convention (``prompt_tokens`` includes cached reads and cache
    writes and audio; ``completion_tokens`` includes reasoning and audio), so each token is
    priced once:

    - uncached text input = prompt - cached - cache_write - cache_write_1h - audio_input,
      at ``input``;
    - cached reads at ``cached_input``, falling back to ``input`` when the model has no
      cache-read price (the provider then bills them as ordinary input);
    - cache writes at ``cache_write``; 1-hour writes at ``cache_write_1h``, falling back to
      ``cache_write`` and then ``input`` (providers without a write surcharge bill writes
      as input);
    - text output = completion - audio_output - reasoning at ``output``, where reasoning
      tokens are taken out only when the model prices them apart (``reasoning``); otherwise
      they are priced as output, as providers bill them;
    - audio tokens at ``audio_input`` / ``audio_output``; there is no fallback, so audio
      tokens without an audio price make the cost ``None`` (text prices are far lower).

    ``None`` is also returned when the input price is unknown, or the output price is unknown
    and there are completion tokens; the cost is never 0 for lack of a price. Prices above a
    model's long-context threshold apply to the whole request (:meth:`ModelPrice.at`). The
    result is exact (no rounding); store it with :func:`to_nano`. A provider-reported cost
    (OpenRouter's ``usage.cost``) is ignored here: see :func:`reported_cost`.
    Embeddings are priced the same way (prompt tokens only).
    """
    if (
        usage.prompt_tokens_details is None
        and usage.completion_tokens_details is None
        and price.long_context is None
    ):
        # The common case, the same arithmetic as below with no breakdown to build: every
        # prompt token is text input, every completion token text output.
        prompt = usage.prompt_tokens or 0
        completion = usage.completion_tokens or 0
        unit_in, unit_out = price.input, price.output
        if unit_in is None or (completion and unit_out is None):
            return None
        total = Decimal(0)
        if prompt > 0:
            total += unit_in * prompt
        if completion > 0:
            total += unit_out * completion  # type: ignore[operator]
        return total
    parts, complete = _breakdown(usage, price)
    if not complete:
        return None
    return sum(parts.values(), Decimal(0))


def _breakdown(usage: Usage, price: ModelPrice) -> tuple[dict[str, Decimal], bool]:
    prompt = _n(usage.prompt_tokens)
    completion = _n(usage.completion_tokens)
    p = price.at(prompt)
    ptd = usage.prompt_tokens_details
    ctd = usage.completion_tokens_details
    cached = _n(ptd.cached_tokens) if ptd else 0
    write = _n(ptd.cache_write_tokens) if ptd else 0
    write_1h = _n(ptd.cache_write_1h_tokens) if ptd else 0
    audio_in = _n(ptd.audio_tokens) if ptd else 0
    reasoning = _n(ctd.reasoning_tokens) if ctd else 0
    audio_out = _n(ctd.audio_tokens) if ctd else 0
    if p.reasoning is None:
        reasoning = 0  # billed as output tokens, so it stays in the output category
    # Inconsistent details (more broken-out tokens than the total) clamp at zero rather than
    # producing a negative amount.
    text_in = max(prompt - cached - write - write_1h - audio_in, 0)
    text_out = max(completion - audio_out - reasoning, 0)

    categories = (
        ("input", text_in, p.input),
        ("cached_input", cached, p.cached_input if p.cached_input is not None else p.input),
        ("cache_write", write, p.cache_write if p.cache_write is not None else p.input),
        ("cache_write_1h", write_1h, _first(p.cache_write_1h, p.cache_write, p.input)),
        ("audio_input", audio_in, p.audio_input),
        ("output", text_out, p.output),
        ("reasoning", reasoning, p.reasoning),
        ("audio_output", audio_out, p.audio_output),
    )
    complete = p.input is not None and (completion == 0 or p.output is not None)
    parts: dict[str, Decimal] = {}
    for name, tokens, unit in categories:
        if not tokens:
            continue
        if unit is None:
            complete = False
            continue
        parts[name] = unit * tokens
    return parts, complete


def _first(*values: Decimal | None) -> Decimal | None:
    for value in values:
        if value is not None:
            return value
    return None


def transcription_cost(seconds: float | Decimal, price: ModelPrice) -> Decimal | None:
    """Cost of ``seconds`` of audio at ``price.input_per_second``; ``None`` if unpriced.

    Token-priced transcription models (usage with audio tokens) go through :func:`cost`.
    """
    if price.input_per_second is None:
        return None
    return price.input_per_second * _decimal(seconds, "seconds")


def estimate_cost(
    prompt_tokens: int,
    max_output_tokens: int,
    price: ModelPrice,
    *,
    cache_writes: bool = False,
) -> Decimal | None:
    """Worst-case cost of a call, for budget admission; ``None`` if input/output is unpriced.

    ``prompt_tokens`` x input price + ``max_output_tokens`` x the higher of the output and
    reasoning prices, at the long-context tier when the prompt exceeds it. With
    ``cache_writes`` (the request asks the provider to cache, as Anthropic's
    ``cache_control``) the input price is the highest of input and cache-write prices, since
    the whole prompt may be written. Audio output is not included.
    """
    if prompt_tokens < 0 or max_output_tokens < 0:
        raise ValueError("token counts must be non-negative")
    p = price.at(prompt_tokens)
    if p.input is None or p.output is None:
        return None
    unit_in = p.input
    if cache_writes:
        unit_in = max(v for v in (p.input, p.cache_write, p.cache_write_1h) if v is not None)
    unit_out = p.output if p.reasoning is None else max(p.output, p.reasoning)
    return unit_in * prompt_tokens + unit_out * max_output_tokens


def reported_cost(usage: Usage) -> Decimal | None:
    """The provider-reported cost in USD (OpenRouter's ``usage.cost``), or ``None``.

    Read through ``str`` so the JSON float 0.95 becomes exactly ``Decimal("0.95")``. Absent,
    negative or malformed values give ``None``.
    """
    extra = usage.model_extra or {}
    value = extra.get("cost")
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return _decimal(value, "cost")
    except ValueError:
        return None


def to_nano(amount: Decimal) -> int:
    """``amount`` USD as integer nano-dollars (1e-9 USD), rounded half-up.

    Half-up means away from zero on an exact half (0.5 nano -> 1, -0.5 nano -> -1), so a
    stored cost is never below the exact one by more than half a nano-dollar.
    """
    return int((amount * _NANO).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_nano(nanos: int) -> Decimal:
    """Integer nano-dollars back to USD, exactly."""
    return Decimal(nanos).scaleb(-9)


def catalog_for(config: Any) -> tuple[Catalog, dict[str, str]]:
    """The catalog with a config's price overrides (``prices`` and each provider's), and
    each provider name's kind. ``config`` is a :class:`~aigate.config.GatewayConfig` or None."""
    catalog = Catalog.default()
    kinds: dict[str, str] = {}
    if config is None:
        return catalog, kinds
    overrides = dict(config.prices)
    fields = {name: f"prices.{name}" for name in overrides}
    for name, provider in config.providers.items():
        kinds[name] = provider.kind or name
        for model, entry in provider.prices.items():
            overrides[f"{name}/{model}"] = entry
            fields[f"{name}/{model}"] = f"providers.{name}.prices.{model}"
    for name, entry in overrides.items():
        _warn_per_token(fields[name], entry)
    if overrides:
        from ._exceptions import ConfigurationError

        try:
            catalog = catalog.with_overrides(overrides)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"prices: {exc}", field="prices") from None
    return catalog, kinds


def _warn_per_token(field: str, entry: Any) -> None:
    """A DeprecationWarning for a config price written per token (``input = 0.00000015``).

    A config's prices are documented per million tokens (``input_per_million = 0.15``), as
    price lists print them; the per-token names, the catalog's own unit, are still read with
    their exact meaning for one release. The warning names each replacement with its value
    converted exactly, so the fix is a copy. Values that are not numbers are left to the
    override check, which raises the ConfigurationError.
    """
    if not isinstance(entry, Mapping):
        return
    old: list[str] = []
    replacements: list[str] = []
    for key, value in entry.items():
        if key not in _PRICE_NAMES or key == "input_per_second":
            continue
        if f"{key}_per_million" in entry:
            return  # both spellings: the override check refuses the entry
        if value is None:
            shown = "None"
        else:
            try:
                amount = _decimal(value, key) * _MILLION
            except ValueError:
                return
            shown = format(amount.normalize(), "f") if amount else "0"
        old.append(key)
        replacements.append(f"{key}_per_million = {shown}")
    if not replacements:
        return
    import warnings

    warnings.warn(
        f"{field}: {', '.join(old)} in USD per token is deprecated and will be refused in a "
        f"future release; write USD per million tokens, the same price: "
        f"{', '.join(replacements)}",
        DeprecationWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside aigate (and pydantic), so the warning
    names the user's line and Python's default filters show it when that is ``__main__``."""
    import sys

    package = str(Path(__file__).resolve().parent)
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith((package, "<frozen")) or "pydantic" in filename):
            return level
        frame = frame.f_back
        level += 1
    return 1
