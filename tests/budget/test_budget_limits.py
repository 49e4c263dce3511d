"""Limits, windows and the plan: the pure half of budgets (no store, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigate import BudgetExceeded, ConfigurationError
from aigate.budget import (
    Breach,
    Budgets,
    Charge,
    Crossing,
    Limit,
    RateLimit,
    ReserveResult,
    parse_limits,
    parse_window,
    window_bounds,
)

UTC = timezone.utc
NOW = datetime(2024, 5, 15, 12, 30, tzinfo=UTC)


class TestLimit:
    def test_normalises(self) -> None:
        limit = Limit(scope="user:*", amount=5.1, window="1h", thresholds=(1.0, 0.5, 0.5))
        assert limit.amount == Decimal("5.1") and isinstance(limit.amount, Decimal)
        assert limit.window == "rolling:3600"
        assert limit.thresholds == (0.5, 1.0)
        assert limit.cap == 5_100_000_000
        tokens = Limit(amount="1000", unit="tokens", window="day")
        assert tokens.amount == 1000 and tokens.cap == 1000

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"scope": "team:red"}, "budget.scope"),
            ({"scope": "user:"}, "budget.scope"),
            ({"scope": "meta:team"}, "budget.scope"),
            ({"unit": "eur"}, "budget.unit"),
            ({"amount": "-1"}, "budget.amount"),
            ({"amount": "abc"}, "budget.amount"),
            ({"amount": True}, "budget.amount"),
            ({"amount": float("nan")}, "budget.amount"),
            ({"amount": "1.5", "unit": "tokens"}, "budget.amount"),
            ({"window": "fortnight"}, "budget.window"),
            ({"window": "rolling:0"}, "budget.window"),
            ({"tz": "Mars/Olympus"}, "budget.tz"),
            ({"thresholds": (0.5, 1.5)}, "budget.thresholds"),
            ({"thresholds": (0,)}, "budget.thresholds"),
        ],
    )
    def test_rejects(self, kwargs: dict[str, Any], field: str) -> None:
        args: dict[str, Any] = {"amount": "1", "window": "day", **kwargs}
        with pytest.raises(ConfigurationError) as info:
            Limit(**args)
        assert info.value.field == field

    def test_parse_and_round_trip(self) -> None:
        data = {
            "scope": "meta:team=red",
            "amount": "12.50",
            "window": "month",
            "tz": "Europe/Paris",
            "thresholds": [0.8],
            "hard": False,
            "fail_open": True,
            "name": "red team",
        }
        limit = Limit.parse(data)
        assert Limit.parse(limit.to_dict()) == limit
        assert Limit.parse(limit, scope="key:vk_1").scope == "key:vk_1"
        assert Limit.parse(data, scope="org:o").scope == "org:o"
        assert parse_limits(None) == ()
        assert parse_limits(data) == (limit,)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"amount": 1}, "window"),
            ({"window": "day"}, "amount"),
            ({"amount": 1, "window": "day", "currency": "eur"}, "unknown"),
            ("5 dollars", "mapping"),
        ],
    )
    def test_parse_rejects(self, value: Any, message: str) -> None:
        with pytest.raises(ConfigurationError, match=message):
            Limit.parse(value)

    def test_rate_limit(self) -> None:
        assert RateLimit.parse({"rpm": 60}) == RateLimit(rpm=60)
        assert RateLimit.parse(None) is None
        for bad in ({"rpm": 0}, {"tpm": 1.5}, {"rps": 1}, "60"):
            with pytest.raises(ConfigurationError):
                RateLimit.parse(bad)  # type: ignore[arg-type]


class TestWindows:
    @pytest.mark.parametrize(
        ("window", "start", "end"),
        [
            ("day", datetime(2024, 5, 15, tzinfo=UTC), datetime(2024, 5, 16, tzinfo=UTC)),
            ("week", datetime(2024, 5, 13, tzinfo=UTC), datetime(2024, 5, 20, tzinfo=UTC)),
            ("month", datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)),
            (
                "30m",
                datetime(2024, 5, 15, 12, 30, tzinfo=UTC),
                datetime(2024, 5, 15, 13, tzinfo=UTC),
            ),
            (
                "rolling:7200",
                datetime(2024, 5, 15, 12, tzinfo=UTC),
                datetime(2024, 5, 15, 14, tzinfo=UTC),
            ),
        ],
    )
    def test_utc(self, window: str, start: datetime, end: datetime) -> None:
        assert window_bounds(window, NOW) == (start, end)
        assert window_bounds(window, NOW.timestamp()) == (start, end)

    def test_lifetime_and_parse(self) -> None:
        assert window_bounds("lifetime", NOW) == (None, None)
        assert parse_window("7d") == ("rolling", 604800)
        assert parse_window(" Month ") == ("month", 0)
        with pytest.raises(ValueError, match="aware"):
            window_bounds("day", datetime(2024, 1, 1))

    def test_month_ends(self) -> None:
        feb = window_bounds("month", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC))
        assert feb == (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
        dec = window_bounds("month", datetime(2023, 12, 31, 23, 0, tzinfo=UTC))
        assert dec[1] == datetime(2024, 1, 1, tzinfo=UTC)

    def test_dst_days(self) -> None:
        """Calendar days in a zone with DST last 23 and 25 hours."""
        ny = ZoneInfo("America/New_York")
        spring = window_bounds("day", datetime(2024, 3, 10, 12, tzinfo=ny), "America/New_York")
        autumn = window_bounds("day", datetime(2024, 11, 3, 12, tzinfo=ny), "America/New_York")
        for (start, end), hours in ((spring, 23), (autumn, 25)):
            assert start is not None and end is not None
            assert end.timestamp() - start.timestamp() == hours * 3600
            assert (start.hour, start.minute) == (0, 0)

    def test_ambiguous_local_time(self) -> None:
        """01:30 happens twice on 2024-11-03 in New York; both are on that day."""
        ny = ZoneInfo("America/New_York")
        for fold in (0, 1):
            moment = datetime(2024, 11, 3, 1, 30, fold=fold, tzinfo=ny)
            start, end = window_bounds("day", moment, "America/New_York")
            assert start == datetime(2024, 11, 3, 4, tzinfo=UTC)
            assert end == datetime(2024, 11, 4, 5, tzinfo=UTC)

    def test_in_a_zone_the_day_starts_at_local_midnight(self) -> None:
        # 2024-05-15 02:00 UTC is still May 14 in New York.
        start, end = window_bounds("day", datetime(2024, 5, 15, 2, tzinfo=UTC), "America/New_York")
        assert start == datetime(2024, 5, 14, 4, tzinfo=UTC)
        assert end == datetime(2024, 5, 15, 4, tzinfo=UTC)

    @settings(max_examples=300, deadline=None)
    @given(
        moment=st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
        ),
        tz=st.sampled_from(
            [
                "UTC",
                "America/New_York",
                "Europe/London",
                "Australia/Lord_Howe",  # 30-minute DST shift
                "America/Santiago",  # DST changes at midnight
                "Asia/Beirut",  # likewise
                "Pacific/Apia",  # skipped a whole day in 2011
                "Asia/Kolkata",
            ]
        ),
        window=st.sampled_from(["day", "week", "month"]),
    )
    def test_windows_contain_now_and_tile_time(
        self, moment: datetime, tz: str, window: str
    ) -> None:
        """start <= now < end, and the next window starts exactly where this one ends."""
        start, end = window_bounds(window, moment, tz)
        assert start is not None and end is not None
        assert start <= moment < end
        nxt, _ = window_bounds(window, end, tz)
        prev, prev_end = window_bounds(window, start - timedelta(microseconds=1), tz)
        assert nxt == end and prev_end == start and prev is not None and prev < start
        # A window given in its own zone means the same instant.
        assert window_bounds(window, moment.astimezone(ZoneInfo(tz)), tz) == (start, end)


def plan(budgets: Budgets, **kwargs: Any) -> dict[str, Charge]:
    kwargs.setdefault("estimate_nano", 100)
    kwargs.setdefault("now", NOW)
    return {c.key.split("|")[0]: c for c in budgets.plan(**kwargs)}


class TestPlan:
    def test_which_limits_apply(self) -> None:
        budgets = Budgets(
            [
                {"amount": "100", "window": "month"},
                {"scope": "org:acme", "amount": "50", "window": "month"},
                {"scope": "org:other", "amount": "50", "window": "month"},
                {"scope": "user:*", "amount": "5", "window": "day"},
                {"scope": "key:vk_1", "amount": "1", "window": "day"},
                {"scope": "provider:openai", "amount": "20", "window": "day"},
                {"scope": "model:openai/gpt-4o", "amount": "9", "window": "day"},
                {"scope": "model:*", "amount": "30", "window": "day"},
                {"scope": "meta:team=red", "amount": "3", "window": "day"},
                {"scope": "meta:env=*", "amount": "4", "window": "day"},
            ]
        )
        scope = {"org": "acme", "user": "u1", "provider": "openai", "model": "gpt-4o"}
        found = plan(budgets, scope=scope, metadata={"team": "red", "env": "prod"})
        assert set(found) == {
            "global",
            "org:acme",
            "user:u1",
            "provider:openai",
            "model:openai/gpt-4o",
            "meta:team=red",
            "meta:env=prod",
        }
        # model:openai/gpt-4o and model:* share one counter: the stricter cap wins.
        assert found["model:openai/gpt-4o"].cap == 9_000_000_000
        assert set(plan(budgets, scope={"user": "u2"})) == {"global", "user:u2"}
        assert set(plan(budgets, scope={"model": "gpt-4o"})) == {"global", "model:gpt-4o"}

    def test_model_name_forms(self) -> None:
        budgets = Budgets([{"scope": "model:gpt-4o", "amount": "1", "window": "day"}])
        assert set(plan(budgets, scope={"provider": "openai", "model": "gpt-4o"})) == {
            "model:gpt-4o"
        }
        routed = {"provider": "openrouter", "model": "openrouter/gpt-4o"}
        assert plan(Budgets([{"scope": "model:*", "amount": "1", "window": "day"}]), scope=routed)

    def test_amounts_by_unit(self) -> None:
        budgets = Budgets(
            [
                Limit(amount="1", window="day"),
                Limit(scope="user:*", amount=1000, unit="tokens", window="day"),
                Limit(scope="org:*", amount=10, unit="requests", window="day"),
            ]
        )
        charges = budgets.plan(
            {"user": "u", "org": "o"}, estimate_nano=77, tokens=500, requests=1, now=NOW
        )
        assert sorted(c.amount for c in charges) == [1, 77, 500]
        actual = budgets.actual(charges, cost_nano=50, tokens=321)
        assert sorted(actual.values()) == [1, 50, 321]

    def test_keys_carry_the_window(self) -> None:
        budgets = Budgets(
            [
                Limit(amount="1", window="day", tz="Europe/Paris"),
                Limit(amount="1", window="lifetime"),
            ]
        )
        today = budgets.plan(estimate_nano=1, now=NOW)
        assert [c.key for c in today] == [
            "global|usd|day|Europe/Paris|1715724000",
            "global|usd|lifetime",
        ]
        assert today[0].resets_at == datetime(2024, 5, 16, tzinfo=ZoneInfo("Europe/Paris"))
        assert today[1].resets_at is None and today[1].expires_at is None
        same = budgets.plan(estimate_nano=1, now=NOW + timedelta(hours=5))
        tomorrow = budgets.plan(estimate_nano=1, now=NOW + timedelta(hours=12))
        assert same[0].key == today[0].key != tomorrow[0].key
        assert tomorrow[1].key == today[1].key

    def test_thresholds_become_marks(self) -> None:
        budgets = Budgets([Limit(amount="0.000000003", window="day", thresholds=(0.5, 1.0))])
        (c,) = budgets.plan(estimate_nano=1, now=NOW)
        assert c.marks == (2, 3)  # rounded up: never fires early
        (zero,) = Budgets([Limit(amount=0, window="day", thresholds=(0.5,))]).plan(
            estimate_nano=0, now=NOW
        )
        assert zero.marks == ()

    def test_extra_limits(self) -> None:
        budgets = Budgets()
        assert budgets.plan(estimate_nano=1, now=NOW) == []
        extra = [Limit(scope="key:vk_1", amount="1", window="day")]
        charges = budgets.plan({"key": "vk_1"}, estimate_nano=1, now=NOW, extra=extra)
        assert [c.key.split("|")[0] for c in charges] == ["key:vk_1"]

    def test_exceeded(self) -> None:
        budgets = Budgets([Limit(scope="user:*", amount="5", window="day")])
        (c,) = budgets.plan({"user": "u1"}, estimate_nano=2_000_000_000, now=NOW)
        result = ReserveResult(
            ok=False, breaches=(Breach(c.key, c.cap, 3_500_000_000, 10, c.amount),)
        )
        err = budgets.exceeded(result, [c])
        assert isinstance(err, BudgetExceeded)
        assert (err.scope, err.unit) == ("user:u1", "usd")
        assert (err.limit, err.spent, err.estimate) == (Decimal(5), Decimal("3.5"), Decimal(2))
        assert err.reserved == Decimal("0.00000001")
        assert err.resets_at == datetime(2024, 5, 16, tzinfo=UTC)
        assert "user:u1" in str(err) and "$3.5" in str(err) and "2024-05-16" in str(err)
        with pytest.raises(ValueError):
            budgets.exceeded(ReserveResult(ok=True), [c])

    def test_exceeded_in_tokens(self) -> None:
        budgets = Budgets([Limit(amount=100, unit="tokens", window="lifetime")])
        (c,) = budgets.plan(estimate_nano=1, tokens=60, now=NOW)
        err = budgets.exceeded(ReserveResult(False, (Breach(c.key, 100, 50, 0, 60),)), [c])
        assert err.unit == "tokens" and err.limit == 100 and err.resets_at is None
        assert "60 tokens" in str(err)

    def test_events(self) -> None:
        budgets = Budgets([Limit(amount="10", window="day", thresholds=(0.5, 0.9))])
        charges = budgets.plan(estimate_nano=1, now=NOW)
        key = charges[0].key
        events = budgets.events([Crossing(key, 1, 9_500_000_000), Crossing("other", 0, 1)], charges)
        assert len(events) == 1
        assert (events[0].scope, events[0].threshold, events[0].spent) == (
            "global",
            0.9,
            Decimal("9.5"),
        )
