"""The ``aigate`` command, run in-process through ``main(argv)`` (and once as a process)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from aigate.cli import main, parse_when, render_table
from aigate.ledger import LedgerRecord, SQLiteLedger
from aigate.pricing import Catalog

UTC = timezone.utc
DAY1 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(name="ledger_url")
def _ledger_url(tmp_path: Path) -> str:
    """Nine calls over three days: two models, two users, one error, one unpriced."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(str(path)) as ledger:
        for i in range(9):
            ledger.record(
                LedgerRecord(
                    id=f"c{i}",
                    ts=DAY1 + timedelta(days=i // 3, minutes=i),
                    provider="openai",
                    model="gpt-4o-mini" if i % 2 else "gpt-4.1",
                    user="ana" if i < 5 else "bo",
                    project="search",
                    prompt_tokens=100,
                    completion_tokens=20,
                    cost_nano=None if i == 8 else 1_000_000 * (i + 1),
                    latency_ms=100.0 + i,
                    status="error" if i == 4 else "ok",
                )
            )
    return f"sqlite:///{path}"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


class TestEntryPoints:
    def test_python_dash_m_help(self) -> None:
        """``python -m aigate --help`` lists every command."""
        result = subprocess.run(
            [sys.executable, "-m", "aigate", "--help"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0
        for command in ("demo", "chat", "models", "report", "config", "keys", "budget"):
            assert command in result.stdout

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main(["--version"])
        assert info.value.code == 0
        assert capsys.readouterr().out.startswith("aigate ")

    def test_no_command_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys)
        assert code == 2 and "usage: aigate" in err

    def test_unknown_option_is_a_usage_error(self) -> None:
        with pytest.raises(SystemExit) as info:
            main(["report", "--bogus"])
        assert info.value.code == 2


class TestReport:
    def test_table(self, capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
        """An aligned table per group, a total line, and top spenders."""
        code, out, _ = run(capsys, "report", "--ledger", ledger_url, "--group-by", "day,model")
        assert code == 0
        assert "9 calls, 1 errors, spend $0.0360 (+1 unpriced)" in out
        table = out.split("\n\n")[1].splitlines()
        assert table[0].split() == [
            "day",
            "model",
            "calls",
            "errors",
            "cached",
            "tokens",
            "in",
            "tokens",
            "out",
            "spend",
            "p50",
            "ms",
            "p95",
            "ms",
        ]
        assert set(table[1]) <= {"-", " "}
        # numeric columns are right-aligned: every line of the table ends at one column
        assert len({len(line) for line in table}) == 1
        assert table[2].startswith("2024-05-01  gpt-4.1")
        assert table[-1].startswith("total")
        assert "top spenders by user" in out
        top = out.split("top spenders by user\n", 1)[1].splitlines()
        assert top[2].split() == ["bo", "4", "$0.0210", "58%"]
        assert top[3].split() == ["ana", "5", "$0.0150", "42%"]

    def test_csv_parses(self, capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
        code, out, _ = run(capsys, "report", "--ledger", ledger_url, "-g", "model", "--csv")
        assert code == 0
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [r["model"] for r in rows] == ["gpt-4.1", "gpt-4o-mini"]
        assert sum(int(r["requests"]) for r in rows) == 9
        assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal("0.036")

    def test_json_parses(self, capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
        code, out, _ = run(
            capsys,
            "report",
            "--ledger",
            ledger_url,
            "-g",
            "user",
            "--json",
            "--since",
            "2024-05-02",
        )
        assert code == 0
        data = json.loads(out)
        assert [(d["group"]["user"], d["requests"]) for d in data] == [("ana", 2), ("bo", 4)]
        assert data[1]["unpriced"] == 1

    def test_files_and_filters(
        self, capsys: pytest.CaptureFixture[str], ledger_url: str, tmp_path: Path
    ) -> None:
        """--csv/--json write files; --where and --until narrow the rows."""
        csv_path, json_path = tmp_path / "r.csv", tmp_path / "r.json"
        code, out, _ = run(
            capsys,
            "report",
            "--ledger",
            ledger_url,
            "--where",
            "model=gpt-4o-mini",
            "--until",
            "2024-05-03",
            "--csv",
            str(csv_path),
            "--json",
            str(json_path),
        )
        assert code == 0 and out == ""
        (row,) = json.loads(json_path.read_text())
        assert row["group"] == {"model": "gpt-4o-mini"} and row["requests"] == 3
        assert "gpt-4o-mini" in csv_path.read_text()

    def test_ledger_from_config(
        self, capsys: pytest.CaptureFixture[str], ledger_url: str, tmp_path: Path
    ) -> None:
        config = write(tmp_path, "aigate.toml", f'ledger = "{ledger_url}"\n')
        code, out, _ = run(capsys, "report", "--config", config, "--top", "0")
        assert code == 0 and "9 calls" in out and "top spenders" not in out

    def test_empty_range(self, capsys: pytest.CaptureFixture[str], ledger_url: str) -> None:
        code, out, _ = run(capsys, "report", "--ledger", ledger_url, "--since", "2030-01-01")
        assert code == 0 and "no calls in this range" in out

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((), "no ledger to report on"),
            (("--ledger", "ftp://x"), "not supported"),
            (("--ledger", "memory://", "-g", "colour"), "unknown group_by item 'colour'"),
            (("--ledger", "memory://", "--since", "last tuesday"), "cannot read time"),
            (("--ledger", "memory://", "--where", "model"), "expected NAME=VALUE"),
        ],
    )
    def test_usage_errors(
        self, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
    ) -> None:
        code, _, err = run(capsys, "report", *args)
        assert code == 2
        assert message in err


class TestParseWhen:
    NOW = datetime(2024, 5, 10, 15, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-05-01", date(2024, 5, 1)),
            ("today", date(2024, 5, 10)),
            ("yesterday", date(2024, 5, 9)),
            ("7d", NOW - timedelta(days=7)),
            ("24h", NOW - timedelta(hours=24)),
            ("30m", NOW - timedelta(minutes=30)),
            ("2w", NOW - timedelta(weeks=2)),
            ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, tzinfo=UTC)),
            ("2024-05-01T08:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),  # naive means UTC
        ],
    )
    def test_forms(self, text: str, expected: object) -> None:
        assert parse_when(text, now=self.NOW) == expected


class TestConfigCheck:
    def test_valid_file(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        path = write(
            tmp_path,
            "aigate.toml",
            """
            [providers.openai]
            api_keys = ["sk-test-123456"]
            [providers.local]
            kind = "openai"
            base_url = "http://127.0.0.1:11434/v1"
            [routes]
            fast = ["local/llama3", "openai/gpt-4o-mini"]
            """.replace("            ", ""),
        )
        code, out, err = run(capsys, "config", "check", path)
        assert code == 0, err
        assert out.startswith(f"ok: {path}: 2 providers (openai, local), 1 routes (fast)")
        assert "sk-test" not in out + err

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("[providers.openai]\napi_keyz = ['sk-x']\n", "providers.openai.api_keyz"),
            ("max_connections = 0\n", "max_connections"),
            ("[providers.x]\nkind = 'nope'\napi_keys = ['k']\n", "providers.x.kind"),
            ("[providers.openai]\napi_keys=['sk-a']\n[routes]\nr = ['gone/m']\n", "routes.r"),
            ("ledger = 'ftp://host/x'\n", "ledger"),
        ],
    )
    def test_errors_name_the_field(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, field: str
    ) -> None:
        """A bad config exits 2 with the typed error and the field it is about."""
        code, out, err = run(capsys, "config", "check", write(tmp_path, "bad.toml", text))
        assert code == 2
        assert out == ""
        assert err.startswith("error: ")
        assert f"  field: {field}" in err

    def test_unreadable_files(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        code, _, err = run(capsys, "config", "check", str(tmp_path / "missing.toml"))
        assert code == 2 and "cannot read config file" in err
        code, _, err = run(capsys, "config", "check", write(tmp_path, "x.toml", "a = [\n"))
        assert code == 2 and "cannot parse" in err

    def test_missing_key_is_a_warning(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A key expected from the environment is not an error on a machine without it."""
        path = write(tmp_path, "env.json", json.dumps({"providers": {"groq": {}}}))
        code, out, err = run(capsys, "config", "check", path)
        assert code == 0 and out.startswith("ok:")
        assert "warning: providers.groq: no API key" in err

    def test_no_file_is_created(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        db = tmp_path / "ledger.db"
        path = write(tmp_path, "c.toml", f'ledger = "sqlite:///{db}"\n')
        assert run(capsys, "config", "check", path)[0] == 0
        assert not db.exists()


class TestModels:
    def test_search(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "models", "--search", "gpt-4o-mini", "--mode", "chat")
        assert code == 0
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["model", "mode", "context"]
        assert any(line.startswith("openai/gpt-4o-mini ") for line in lines)
        assert "$0.15" in out and "$0.6" in out and "128k" in out
        assert all("gpt-4o-mini" in line for line in lines[2:-1])
        assert lines[-1].startswith("prices: snapshot of ")  # how old the prices are (13.8)

    def test_filters_match_the_catalog(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--max-input-price is per million tokens; the JSON lists what the catalog does."""
        code, out, _ = run(
            capsys,
            "models",
            "--json",
            "--capability",
            "vision",
            "--max-input-price",
            "0.2",
            "--min-context",
            "100000",
        )
        assert code == 0
        data = json.loads(out)
        expected = Catalog.default().search(
            capability="vision", max_input_price=Decimal("0.0000002"), min_context=100_000
        )
        assert [d["model"] for d in data] == [f"{m.provider}/{m.model}" for m in expected]
        assert data and all(Decimal(d["input_per_million"]) <= Decimal("0.2") for d in data)
        assert all("vision" in d["capabilities"] for d in data)

    def test_provider_and_limit(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "models", "--provider", "anthropic", "--limit", "2")
        assert code == 0
        body = out.splitlines()[2:-1]  # the last line is the prices' snapshot date
        assert len(body) == 3 and body[-1].startswith("... ")
        assert all(line.startswith("anthropic/") for line in body[:2])

    def test_config_names_and_prices(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A custom provider name lists its kind's models and its own price overrides."""
        config = write(
            tmp_path,
            "c.toml",
            """
            [providers.work]
            kind = "anthropic"
            api_keys = ["sk-ant-x"]
            [providers.work.prices.house-model]
            input_per_million = 1
            output_per_million = 2
            """.replace("            ", ""),
        )
        code, out, _ = run(capsys, "models", "--config", config, "--search", "house", "--json")
        assert code == 0
        (model,) = json.loads(out)
        assert model["model"] == "work/house-model"
        assert model["input_per_million"] == "1"
        code, out, _ = run(capsys, "models", "--config", config, "--provider", "work", "--json")
        assert any(m["model"].startswith("anthropic/claude") for m in json.loads(out))

    def test_no_match(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(capsys, "models", "--search", "no-such-model-xyz")[1] == "no model matches\n"

    def test_bad_price(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "models", "--max-input-price", "cheap")
        assert code == 2 and "USD per 1M" in err


class TestChat:
    def test_offline_fake(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With no key in the environment, chat answers from the fake provider and says so."""
        code, out, err = run(capsys, "chat", "hello there")
        assert code == 0
        assert out == "You said: hello there\n"
        assert "offline fake provider" in err
        assert "[openai/gpt-4o-mini, " in err and "1 attempt]" in err

    def test_stream(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "chat", "one two three", "--stream", "--quiet")
        assert code == 0 and out == "You said: one two three\n"
        assert "attempt" not in err

    def test_config_and_route(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        config = write(
            tmp_path,
            "c.json",
            json.dumps(
                {
                    "providers": {"a": {"kind": "fake"}, "b": {"kind": "fake"}},
                    "routes": {"main": ["a/m1", "b/m2"]},
                }
            ),
        )
        code, out, err = run(capsys, "chat", "hi", "--config", config, "--system", "be brief")
        assert code == 0 and out == "You said: hi\n"
        assert "[a/m1, " in err and "unpriced" in err

    def test_missing_key_for_the_model(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used-000")
        code, _, err = run(capsys, "chat", "hi", "--model", "anthropic/claude-haiku-4-5")
        assert code == 2 and "set ANTHROPIC_API_KEY" in err
        assert "sk-test" not in err


class TestDemo:
    def test_offline_tour(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """The demo shows failover, caching, streaming, cost and a budget stop, with a
        progress display on stderr, and can leave its calls in a ledger for `report`."""
        db = tmp_path / "demo.db"
        code, out, err = run(capsys, "demo", "--ledger", f"sqlite:///{db}")
        assert code == 0
        assert "route failed over" in out
        assert "tried:    groq/openai/gpt-oss-20b -> 503" in out
        assert "cached=True" in out or "skipped: this version's gateway has no response" in out
        assert "BudgetExceeded" in out or "skipped: this version's gateway has no budgets" in out
        assert "[1/5] routing and failover ..." in err and "[5/5] budget stop: ok" in err
        code, out, _ = run(capsys, "report", "--ledger", f"sqlite:///{db}", "--json")
        assert code == 0 and sum(r["requests"] for r in json.loads(out)) >= 28


def test_render_table_alignment() -> None:
    text = render_table(["name", "n"], [["a", "1"], ["long name", "1,000"]], [False, True])
    assert text.splitlines() == [
        "name           n",
        "---------  -----",
        "a              1",
        "long name  1,000",
    ]


PEPPER = "cli-test-pepper-0123456789"


class TestKeys:
    def test_create_list_revoke(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The secret is printed once (stdout) and never again; list and revoke use ids."""
        monkeypatch.setenv("AIGATE_KEY_PEPPER", PEPPER)
        store = ["--store", f"sqlite:///{tmp_path / 'keys.db'}"]
        code, out, err = run(
            capsys,
            "keys",
            "create",
            *store,
            "--name",
            "ci",
            "--project",
            "acme",
            "--models",
            "openai/*",
            "--budget",
            "5/day",
            "--rpm",
            "60",
            "--expires",
            "30d",
        )
        assert code == 0
        secret = out.strip()
        assert secret.startswith("gk_") and "shown once" in err
        code, out, _ = run(capsys, "keys", "list", *store, "--json")
        (key,) = json.loads(out)
        assert key["name"] == "ci" and key["models"] == ["openai/*"] and key["status"] == "active"
        assert key["limits"][0]["amount"] == "5" and key["rate_limit"]["rpm"] == 60
        assert key["expires_at"] > key["created_at"]
        assert secret not in out
        code, out, _ = run(capsys, "keys", "list", *store)
        assert code == 0 and key["id"] in out and "-/acme/-" in out and secret not in out
        assert run(capsys, "keys", "revoke", key["id"], *store)[0] == 0
        code, out, _ = run(capsys, "keys", "list", *store)
        assert out.splitlines()[-1].endswith("revoked")
        assert run(capsys, "keys", "list", *store, "--active")[1] == "no keys\n"

    def test_store_from_config_and_errors(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TEAM_PEPPER", PEPPER)
        config = write(
            tmp_path,
            "c.toml",
            f'[keys]\nstore = "sqlite:///{tmp_path / "k.db"}"\npepper_env = "TEAM_PEPPER"\n',
        )
        assert run(capsys, "keys", "create", "--config", config)[0] == 0
        assert len(json.loads(run(capsys, "keys", "list", "-c", config, "--json")[1])) == 1
        code, _, err = run(capsys, "keys", "list")
        assert code == 2 and "no keys store" in err
        code, _, err = run(capsys, "keys", "revoke", "--config", config)
        assert code == 2 and "needs the key id" in err
        code, _, err = run(capsys, "keys", "revoke", "vk_0000000000000000", "--config", config)
        assert code == 1 and "vk_0000000000000000" in err


class TestBudget:
    def test_status_after_spending(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Counters of the current window for each limit; per-user limits need --scope."""
        import aigate

        config = write(
            tmp_path,
            "b.toml",
            f"""
            [providers.openai]
            kind = "fake"
            [budget]
            store = "sqlite:///{tmp_path / "budget.db"}"
            limits = [
              {{scope = "global", amount = "10", window = "month"}},
              {{scope = "user:*", amount = "0.01", window = "day"}},
              {{scope = "project:acme", amount = "100000", unit = "tokens", window = "day"}},
            ]
            """.replace("            ", ""),
        )
        with aigate.Gateway.from_file(config) as gw:
            for user in ("ana", "bo", "ana"):
                gw.chat.completions.create(
                    model="openai/gpt-4o-mini",
                    messages=[{"role": "user", "content": "hello " * 20}],
                    user=user,
                    metadata={"project": "acme"},
                    max_tokens=50,
                )
        code, out, err = run(capsys, "budget", "status", "--config", config)
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("budgets in sqlite:///")
        assert [line.split()[0] for line in lines[3:]] == ["global", "project:acme"]
        assert "note: user:* is per user: add --scope user:NAME" in err
        code, out, _ = run(
            capsys, "budget", "status", "-c", config, "--scope", "user:ana", "--json"
        )
        rows = {r["scope"]: r for r in json.loads(out)["budgets"]}
        assert set(rows) == {"global", "user:ana", "project:acme"}
        assert Decimal(rows["global"]["spent"]) > Decimal(rows["user:ana"]["spent"]) > 0
        assert rows["project:acme"]["unit"] == "tokens" and int(rows["project:acme"]["spent"]) > 0
        assert rows["user:ana"]["limit"] == "0.01" and rows["user:ana"]["reserved"] == "0"

    def test_limits_on_the_command_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "budget", "status", "--limit", "user:ana=5/day")
        assert code == 0 and "user:ana" in out and "$5.00" in out
        code, _, err = run(capsys, "budget", "status")
        assert code == 2 and "no budget limits" in err
        code, _, err = run(capsys, "budget", "status", "--limit", "5/day")
        assert code == 2 and "SCOPE=AMOUNT/WINDOW" in err


def test_the_documented_config_example_passes_config_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full example in docs/configuration.md is a valid config (keys aside), and
    checking it creates none of its stores."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    example = example.replace("/var/cache/aigate", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # the example's relative sqlite paths would land here
    code, out, err = run(capsys, "config", "check", write(tmp_path, "doc.toml", example))
    assert code == 0, err
    assert out.startswith("ok: ") and "routes (fast, smart)" in out
    assert "warning: providers.groq: no API key" in err
    assert "warning: keys: AIGATE_KEY_PEPPER is not set" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.toml"]


ROOT = Path(__file__).resolve().parent.parent


class TestConfigInit:
    def test_writes_the_shipped_example(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """#14.3: `config init` writes the package's template, the same file as the repo's
        aigate.toml; it checks clean and a gateway built from it answers, priced, offline."""
        import aigate

        monkeypatch.chdir(tmp_path)
        code, _, err = run(capsys, "config", "init")
        assert code == 0 and "wrote aigate.toml" in err
        text = (tmp_path / "aigate.toml").read_text()
        assert text == (ROOT / "aigate.toml").read_text()
        code, out, err = run(capsys, "config", "check", "aigate.toml", "--strict")
        assert code == 0 and out.startswith("ok: aigate.toml") and err == ""
        with aigate.Gateway.from_file("aigate.toml") as gw:
            r = gw.chat.completions.create(model="fast", messages=[{"role": "user", "content": ""}])
        assert r.gateway is not None and r.gateway.cost_usd is not None and r.gateway.cost_usd > 0

    def test_keeps_an_existing_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        target = write(tmp_path, "mine.toml", "timeout = 5\n")
        code, _, err = run(capsys, "config", "init", target)
        assert code == 2 and f"{target} exists; pass --force" in err
        assert Path(target).read_text() == "timeout = 5\n"
        assert run(capsys, "config", "init", target, "--force")[0] == 0
        assert "[providers.openai]" in Path(target).read_text()

    def test_template_is_package_data(self) -> None:
        """Loaded through importlib.resources from inside aigate/, so a wheel carries it
        (hatchling's wheel target includes every file under packages = ["aigate"])."""
        from importlib.resources import files

        assert files("aigate").joinpath("_templates/aigate.toml").is_file()


class TestConfigCheckAgreesWithFromFile:
    """#14.6: what `config check` passes, `Gateway.from_file` accepts (in the same
    environment); what it would refuse is an error or, for a secret missing from the
    environment, a warning that `--strict` turns into an error."""

    KEYS = '[providers.openai]\napi_keys = ["sk-a"]\n[keys]\nstore = "sqlite:///keys.db"\n'

    def test_missing_pepper(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import aigate

        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("AIGATE_KEY_PEPPER", raising=False)
        path = write(tmp_path, "k.toml", self.KEYS)
        code, _, err = run(capsys, "config", "check", path)
        assert code == 0
        assert "warning: keys: AIGATE_KEY_PEPPER is not set: Gateway.from_file refuses" in err
        code, _, err = run(capsys, "config", "check", path, "--strict")
        assert code == 2 and "error: keys: AIGATE_KEY_PEPPER is not set" in err
        with pytest.raises(aigate.ConfigurationError):
            aigate.Gateway.from_file(path)

    def test_short_pepper_is_an_error_in_both(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import aigate

        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AIGATE_KEY_PEPPER", "Zq7pepr")
        path = write(tmp_path, "k.toml", self.KEYS)
        code, _, err = run(capsys, "config", "check", path)
        assert code == 2 and "field: keys.pepper" in err and "Zq7pepr" not in err
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway.from_file(path)
        assert info.value.field == "keys.pepper"

    def test_the_documented_example_loads_where_check_passes(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """docs/configuration.md's example: its stores are relative paths (no root needed)."""
        import aigate

        page = (ROOT / "docs" / "configuration.md").read_text()
        example = page.split("```toml\n", 1)[1].split("```", 1)[0]
        assert "/var/" not in example
        monkeypatch.chdir(tmp_path)
        for name in ("GROQ_API_KEY", "OPENROUTER_API_KEY"):
            monkeypatch.setenv(name, "sk-test-env")
        monkeypatch.setenv("AIGATE_KEY_PEPPER", "a-pepper-of-more-than-16-chars")
        path = write(tmp_path, "doc.toml", example)
        code, _, err = run(capsys, "config", "check", path, "--strict")
        assert code == 0 and err == ""
        with aigate.Gateway.from_file(path) as gw:
            assert sorted(gw.routes) == ["fast", "smart"]


class TestMissingPackages:
    """#14.19: a store URL whose optional package is absent is reported with the pip line,
    at construction and by `config check`, not as a traceback from the first call."""

    @pytest.mark.parametrize(
        ("module", "text", "field", "extra"),
        [
            ("redis", 'cache = "redis://:pw@127.0.0.1:6379/0"\n', "cache", "redis"),
            ("redis", '[cache]\nurl = "rediss://127.0.0.1/0"\n', "cache.url", "redis"),
            ("psycopg", 'ledger = "postgresql://app@db/aigate"\n', "ledger", "postgres"),
            ("redis", '[budget]\nstore = "redis://127.0.0.1/1"\n', "budget.store", "redis"),
            ("redis", '[router]\nhealth = "redis://127.0.0.1/1"\n', "router.health", "redis"),
        ],
    )
    def test_config_check(
        self,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        module: str,
        text: str,
        field: str,
        extra: str,
    ) -> None:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
        path = write(tmp_path, "c.toml", text + '[providers.openai]\napi_keys = ["sk-a"]\n')
        code, out, err = run(capsys, "config", "check", path)
        assert code == 2 and out == ""
        assert f'pip install "aigate[{extra}]"' in err and f"field: {field}" in err
        assert "pw" not in err

    def test_cache_at_construction(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import aigate

        monkeypatch.setitem(sys.modules, "redis", None)
        with pytest.raises(aigate.ConfigurationError) as info:
            aigate.Gateway(
                providers={"openai": {"kind": "fake"}}, cache="redis://:pw@127.0.0.1:6379/0"
            )
        assert info.value.field == "cache.url"
        message = str(info.value)
        assert "needs the redis package, which is not installed" in message
        assert 'pip install "aigate[redis]"' in message
        assert "pw" not in message and "accepted:" not in message


class TestSuggestions:
    """#14.7 (CLI): a mistyped command, option or model says what was meant."""

    def test_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main(["cnfig", "check", "x.toml"])
        assert info.value.code == 2
        assert "did you mean 'config'?" in capsys.readouterr().err

    def test_option(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main(["report", "--ledgr", "sqlite:///x.db"])
        assert info.value.code == 2
        assert "did you mean --ledger?" in capsys.readouterr().err

    def test_bare_model_names_its_provider(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "chat", "hi", "--model", "gpt-4o-mini")
        assert code == 2 and out == ""
        assert "did you mean openai/gpt-4o-mini?" in err
        assert "unknown provider" not in err

    def test_model_of_a_provider_without_its_key(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "chat", "hi", "--model", "claude-haiku-4-5")
        assert code == 2
        assert "did you mean anthropic/claude-haiku-4-5?" in err and "ANTHROPIC_API_KEY" in err

    def test_route_of_a_config(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)  # the config's sqlite stores are relative paths
        code, _, err = run(capsys, "chat", "hi", "-c", str(ROOT / "aigate.toml"), "-m", "fsat")
        assert code == 2 and "did you mean fast?" in err

    def test_model_missing_from_the_catalog_is_a_note(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """It may be a new model, so it is still sent; the note says it is unpriced."""
        code, out, err = run(capsys, "chat", "hi", "--model", "openai/gpt-4o-mni")
        assert code == 0 and out
        assert "note: openai/gpt-4o-mni is not in the catalog (unpriced); did you mean" in err
        assert "openai/gpt-4o-mini?" in err


class TestReportMissingLedger:
    def test_missing_sqlite_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """#14.12: exit 2 naming the path, and no empty database left behind."""
        monkeypatch.chdir(tmp_path)
        for extra in ((), ("--html", "r.html"), ("--csv",)):
            code, out, err = run(capsys, "report", "--ledger", "sqlite:///typo.db", *extra)
            assert code == 2 and out == ""
            assert "no ledger at typo.db: the file does not exist" in err
        assert list(tmp_path.iterdir()) == []


def test_keys_without_a_pepper_say_how_to_make_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#14.1: the README's `keys create` explains the pepper when it is missing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIGATE_KEY_PEPPER", raising=False)
    code, _, err = run(capsys, "keys", "create", "--store", "sqlite:///keys.db", "--project", "a")
    assert code == 2 and "export AIGATE_KEY_PEPPER=" in err and "secrets.token_urlsafe" in err
    assert list(tmp_path.iterdir()) == []
