"""The two row shapes of the ledger: one call (`LedgerRecord`) and one report line (`SummaryRow`).

Both are frozen dataclasses that go to and from JSON-friendly dicts, so every backend (and an
export file) stores the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

__all__ = ["STATUSES", "TOKEN_FIELDS", "LedgerRecord", "SummaryRow", "nano_to_usd"]

UTC = timezone.utc

#: Token categories a record counts, in storage order.
TOKEN_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
)
#: ``refused``: the call was refused before anything was sent (a budget, a rate limit, an
#: unpriced model under a USD budget); its ``reason`` says which, and it has no cost or tokens.
STATUSES = ("ok", "error", "refused")
_STATUSES = frozenset(STATUSES)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def nano_to_usd(nano: int) -> Decimal:
    """``nano`` nano-USD as an exact ``Decimal`` of USD."""
    return Decimal(nano).scaleb(-9)


def parse_ts(value: str) -> datetime:
    """An ISO-8601 timestamp (``Z`` allowed, Python 3.10's parser does not take it)."""
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One gateway call as the ledger stores it.

    ``id`` is the call's request id and is unique: recording it twice keeps the first row.
    ``ts`` must be timezone-aware; it is normalised to UTC. ``cost_nano`` is the call's cost
    in nano-USD, ``None`` when the model has no known price (never 0 for "unknown").
    ``virtual_key`` and ``provider_key_id`` are key *ids*, never secrets. ``attempts`` and
    ``metadata`` are copied on construction; metadata values are strings (others are
    converted with ``str``). A call refused before sending has ``status="refused"``, its
    ``reason``, no cost (``cost_nano`` None, nothing was spent) and no tokens.
    """

    id: str
    ts: datetime = field(default_factory=_utcnow)
    kind: str = "chat"  # "chat" | "embedding" | "transcription" | "responses" | "messages" | ...
    org: str | None = None
    project: str | None = None
    user: str | None = None
    virtual_key: str | None = None
    route: str | None = None
    provider: str | None = None
    model: str | None = None
    provider_key_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    cost_nano: int | None = None
    saved_nano: int | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    status: str = "ok"  # "ok" | "error" | "refused"
    error_class: str | None = None
    error_type: str | None = None
    cached: bool = False
    estimated: bool = False
    stream: bool = False
    attempts: tuple[Mapping[str, Any], ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None  # why a refused call was refused ("budget:project:acme", ...)
    max_tokens: int | None = None  # the output ceiling a clamp limit lowered the call to

    def __post_init__(self) -> None:
        ts = self.ts
        if ts.tzinfo is None:
            raise ValueError("LedgerRecord.ts must be timezone-aware (UTC); got a naive datetime")
        if ts.tzinfo is not UTC:
            object.__setattr__(self, "ts", ts.astimezone(UTC))
        if self.status not in _STATUSES:
            raise ValueError(
                f"LedgerRecord.status must be one of {', '.join(STATUSES)}, not {self.status!r}"
            )
        # Copies, so a caller mutating its dicts later cannot change a "frozen" record.
        object.__setattr__(self, "attempts", tuple(dict(a) for a in self.attempts))
        object.__setattr__(
            self,
            "metadata",
            {str(k): v if isinstance(v, str) else str(v) for k, v in self.metadata.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``ts`` as ISO-8601, attempts as a list)."""
        out = {name: getattr(self, name) for name in _RECORD_FIELDS}
        out["ts"] = self.ts.isoformat()
        out["attempts"] = [dict(a) for a in self.attempts]
        out["metadata"] = dict(self.metadata)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerRecord:
        """The inverse of `to_dict`; unknown keys are ignored (files from newer versions)."""
        kwargs = {name: data[name] for name in _RECORD_FIELDS if name in data}
        if isinstance(kwargs.get("ts"), str):
            kwargs["ts"] = parse_ts(kwargs["ts"])
        if "attempts" in kwargs:
            kwargs["attempts"] = tuple(kwargs["attempts"] or ())
        if kwargs.get("metadata") is None:
            kwargs.pop("metadata", None)
        return cls(**kwargs)


_RECORD_FIELDS = tuple(f.name for f in fields(LedgerRecord))


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals for one group of records (or all of them, with an empty ``group``).

    ``cost_nano`` sums the priced records only; ``unpriced`` counts the answered records
    whose cost is unknown (a failed call is not one: it was not billed), so a report can
    say "at least X USD, N calls unpriced". Latency percentiles use linear interpolation
    between the closest ranks (PostgreSQL's ``percentile_cont``).
    """

    group: Mapping[str, str | None]
    requests: int = 0
    errors: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nano: int = 0
    saved_nano: int = 0
    unpriced: int = 0
    estimated: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None

    @property
    def error_rate(self) -> float:
        """Share of requests that ended in an error (0.0 for an empty group)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def cost_usd(self) -> Decimal:
        """Priced cost in USD, exact (see ``unpriced`` for what it leaves out)."""
        return nano_to_usd(self.cost_nano)

    @property
    def saved_usd(self) -> Decimal:
        """What cache hits saved, in USD."""
        return nano_to_usd(self.saved_nano)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict; USD amounts are plain decimal strings ("0.000120000")."""
        out: dict[str, Any] = {"group": dict(self.group)}
        out.update({name: getattr(self, name) for name in _SUMMARY_FIELDS[1:]})
        out["cost_usd"] = format(self.cost_usd, "f")
        out["saved_usd"] = format(self.saved_usd, "f")
        out["error_rate"] = self.error_rate
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryRow:
        """The inverse of `to_dict` (derived fields such as ``cost_usd`` are ignored)."""
        return cls(**{name: data[name] for name in _SUMMARY_FIELDS if name in data})


_SUMMARY_FIELDS = tuple(f.name for f in fields(SummaryRow))
