"""Re-pricing ledger rows that were recorded without a price (issue 13.8).

A call to a model the catalog did not know is recorded with ``cost_nano = None`` (never a
silent 0). Once a price exists (a newer catalog, ``aigate prices update``, a config
override), :func:`reprice` computes what those rows cost from the tokens they recorded.

Ledger rows are append-only in the ledger protocol; a backend that can correct a row
implements :class:`CostUpdater` (``update_costs``), and ``apply=True`` writes through it.
Without it the result is a report (what the unpriced calls cost), nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ._models import CompletionTokensDetails, PromptTokensDetails, Usage
from .pricing import Catalog, cost, to_nano

__all__ = ["CostUpdater", "RepriceResult", "reprice", "usage_of"]


@runtime_checkable
class CostUpdater(Protocol):
    """A ledger that can set the cost of rows recorded without one.

    ``costs`` maps a row id to its cost in nano-USD; only rows whose ``cost_nano`` is still
    ``None`` are changed (a priced row is never re-priced). Returns the rows changed.
    """

    def update_costs(self, costs: Mapping[str, int]) -> int: ...


@dataclass
class RepriceResult:
    """What :func:`reprice` found. Amounts are exact ``Decimal`` USD."""

    unpriced: int = 0  # successful, uncached rows without a cost
    priced: dict[str, int] = field(default_factory=dict)  # row id -> cost in nano-USD
    by_model: dict[str, Decimal] = field(default_factory=dict)  # "provider/model" -> USD
    still_unpriced: dict[str, int] = field(default_factory=dict)  # "provider/model" -> rows
    written: int | None = None  # rows written by apply=True; None: nothing written

    @property
    def total_usd(self) -> Decimal:
        return sum(self.by_model.values(), Decimal(0))


def usage_of(rec: Any) -> Usage:
    """The :class:`Usage` a ledger record's token columns describe."""
    return Usage(
        prompt_tokens=rec.prompt_tokens,
        completion_tokens=rec.completion_tokens,
        total_tokens=rec.prompt_tokens + rec.completion_tokens,
        prompt_tokens_details=PromptTokensDetails(
            cached_tokens=rec.cached_tokens,
            cache_write_tokens=rec.cache_write_tokens,
            cache_write_1h_tokens=getattr(rec, "cache_write_1h_tokens", 0),
            audio_tokens=rec.audio_input_tokens,
        ),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=rec.reasoning_tokens, audio_tokens=rec.audio_output_tokens
        ),
    )


def reprice(
    ledger: Any,
    catalog: Catalog | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
    since: Any = None,
    until: Any = None,
    apply: bool = False,
) -> RepriceResult:
    """Price the ledger's unpriced rows with ``catalog`` (default: :meth:`Catalog.default`).

    ``kinds`` maps a configured provider name to its kind (``{"work": "openai"}``), so a
    row recorded as ``work/gpt-4o-mini`` is priced as ``openai/gpt-4o-mini`` when the
    catalog has no row of its own for it. Transcriptions (priced per second of audio, which
    the ledger does not store) stay unpriced. ``apply=True`` writes the costs through the
    ledger's :class:`CostUpdater`; a ledger without one raises ``TypeError`` (nothing is
    half-written: the costs are computed first, then written in one call).
    """
    catalog = catalog or Catalog.default()
    kinds = kinds or {}
    if apply and not isinstance(ledger, CostUpdater):
        raise TypeError(
            f"{type(ledger).__name__} cannot update recorded costs (no update_costs): "
            "run without apply to see what the unpriced calls cost"
        )
    result = RepriceResult()
    for rec in ledger.query(since=since, until=until):
        if rec.cost_nano is not None or rec.status != "ok" or rec.cached:
            continue
        result.unpriced += 1
        name = f"{rec.provider}/{rec.model}"
        amount = None
        if rec.kind != "transcription" and rec.provider and rec.model:
            info = catalog.get(rec.provider, rec.model)
            kind = kinds.get(rec.provider)
            if info is None and kind is not None and kind != rec.provider:
                info = catalog.get(kind, rec.model)
            if info is not None:
                amount = cost(usage_of(rec), info.price.at(rec.prompt_tokens))
        if amount is None:
            result.still_unpriced[name] = result.still_unpriced.get(name, 0) + 1
            continue
        result.priced[rec.id] = to_nano(amount)
        result.by_model[name] = result.by_model.get(name, Decimal(0)) + amount
    if apply:
        result.written = ledger.update_costs(dict(result.priced)) if result.priced else 0
    return result
