// aigate dashboard: one page, hash routes, data from /api/* (same-origin, session cookie).
// No build step, no framework: DOM built with textContent only (never innerHTML of data).
"use strict";
(function () {
  const READ_ONLY = document.body.dataset.readOnly === "true";
  const REFRESH_MS = 5000;
  const main = document.getElementById("main");
  const statusEl = document.getElementById("status");
  const windowEl = document.getElementById("window");
  let timer = null;
  let charts = [];
  // Bumped on every navigation: an answer that arrives for an older page is dropped, so a
  // slow overview never paints over the page the user moved to.
  let gen = 0;
  const STALE = new Error("stale");

  // -- helpers -------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const ms = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US") + " ms");
  function usd(s) {
    if (s === null || s === undefined) return "n/a";
    const x = Number(s);
    if (x === 0) return "$0";
    if (Math.abs(x) >= 1) return "$" + x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    if (Math.abs(x) >= 0.01) return "$" + x.toFixed(4);
    if (Math.abs(x) >= 0.000001) return "$" + x.toFixed(6);
    return "<$0.000001";
  }
  const label = (v) => (v === null || v === undefined ? "(none)" : v);
  async function api(path, opts) {
    const asked = gen;
    const res = await fetch(path, Object.assign({ credentials: "same-origin" }, opts || {}));
    const data = await res.json().catch(() => ({}));
    if (asked !== gen) throw STALE;
    if (!res.ok) throw new Error(data.error || res.status + " " + res.statusText);
    return data;
  }
  function post(path, body) {
    return api(path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-aigate-dashboard": "1" },
      body: JSON.stringify(body || {}),
    });
  }
  function query(extra) {
    const p = new URLSearchParams({ window: windowEl.value });
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    return p.toString();
  }
  function card(key, title, value, raw, sub) {
    return h("div", { class: "card", dataset: { k: key, value: raw === undefined ? "" : String(raw) } },
      h("div", { class: "label" }, title), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
  }
  function table(headers, rows, opts) {
    const numeric = (opts && opts.numeric) || [];
    return h("table", { class: (opts && opts.class) || "" },
      h("thead", {}, h("tr", {}, headers.map((t, i) => h("th", { class: numeric.includes(i) ? "num" : "" }, t)))),
      h("tbody", {}, rows));
  }
  function td(v, isNum, raw) { return h("td", { class: isNum ? "num" : "", dataset: raw === undefined ? {} : { value: String(raw) } }, v); }
  function setStatus(text) { statusEl.textContent = text; }
  function fail(err) {
    if (err === STALE) return;
    setStatus("error: " + err.message);
    console.warn(err.message);
  }
  function clear() {
    charts.forEach((c) => c.destroy());
    charts = [];
    main.replaceChildren();
  }

  // -- overview ------------------------------------------------------------------------
  async function overview(refresh) {
    const data = await api("/api/overview?" + query());
    const o = data.overview, t = o.totals;
    const cards = h("div", { class: "cards", id: "overview-cards" },
      card("requests", "Calls", num(t.requests), t.requests, num(o.refused) + " refused before sending"),
      card("cost_usd", "Cost", usd(t.cost_usd), t.cost_usd, t.unpriced ? num(t.unpriced) + (t.unpriced === 1 ? " call" : " calls") + " unpriced" : "all calls priced"),
      card("errors", "Error rate", pct(t.error_rate), t.errors, num(t.errors) + " errors"),
      card("failovers", "Failover rate", pct(o.failover_rate), o.failovers, num(o.failovers) + " calls took >1 attempt"),
      card("cache_hits", "Cache hit rate", pct(o.cache_hit_rate), t.cache_hits, "saved " + usd(t.saved_usd)),
      card("saved_usd", "Cache savings", usd(t.saved_usd), t.saved_usd),
      card("latency_p50", "Latency p50", ms(o.latency_ms.p50), o.latency_ms.p50),
      card("latency_p95", "Latency p95", ms(o.latency_ms.p95), o.latency_ms.p95, "p99 " + ms(o.latency_ms.p99)),
      card("ttft_p50", "TTFT p50", ms(o.ttft_ms.p50), o.ttft_ms.p50, num(o.streams) + " streams"),
      card("ttft_p95", "TTFT p95", ms(o.ttft_ms.p95), o.ttft_ms.p95, "p99 " + ms(o.ttft_ms.p99)));
    const tokens = table(["category", "tokens"],
      Object.entries(o.tokens).map(([k, v]) => h("tr", { dataset: { token: k } }, td(k.replace(/_/g, " ")), td(num(v), true, v))),
      { numeric: [1] });
    if (!refresh) {
      clear();
      main.append(h("h2", {}, "Overview"), h("div", { id: "ov-cards" }),
        h("div", { class: "panel" }, h("div", { id: "chart-requests", class: "chart" })),
        h("div", { class: "panel" }, h("div", { id: "chart-cost", class: "chart" })),
        h("h2", {}, "Tokens by category"), h("div", { class: "panel", id: "ov-tokens" }));
    }
    document.getElementById("ov-cards").replaceChildren(cards);
    document.getElementById("ov-tokens").replaceChildren(tokens);
    drawSeries(data);
    setStatus("updated " + new Date().toLocaleTimeString());
  }

  function drawSeries(data) {
    charts.forEach((c) => c.destroy());
    charts = [];
    const xs = data.series.map((r) => Date.parse(r.t.length <= 10 ? r.t + "T00:00:00Z" : r.t + ":00Z") / 1000);
    const width = Math.max(document.getElementById("chart-requests").clientWidth - 10, 300);
    const base = (title) => ({ title, width, height: 220, scales: { x: { time: true } }, legend: { show: true } });
    const reqOpts = Object.assign(base("Calls and errors per " + data.bucket), {
      series: [{}, { label: "calls", stroke: "#2563eb", fill: "rgba(37,99,235,.08)" }, { label: "errors", stroke: "#dc2626" }],
    });
    const costOpts = Object.assign(base("Cost (USD) per " + data.bucket), {
      series: [{}, { label: "cost", stroke: "#16a34a", fill: "rgba(22,163,74,.08)", value: (u, v) => (v === null ? "–" : "$" + v.toFixed(6)) }],
    });
    const el1 = document.getElementById("chart-requests"), el2 = document.getElementById("chart-cost");
    el1.replaceChildren(); el2.replaceChildren();
    charts.push(new uPlot(reqOpts, [xs, data.series.map((r) => r.requests), data.series.map((r) => r.errors)], el1));
    charts.push(new uPlot(costOpts, [xs, data.series.map((r) => Number(r.cost_usd))], el2));
  }

  // -- breakdowns ----------------------------------------------------------------------
  const DIMS = ["provider", "model", "route", "org", "project", "user", "key", "status", "kind"];
  let bdBy = "model", bdTop = "", bdMeta = "";
  async function breakdowns() {
    clear();
    const by = bdBy === "meta" ? "meta:" + (bdMeta || "team") : bdBy;
    const byEl = h("select", { id: "bd-by", "aria-label": "group by", onchange: (e) => { bdBy = e.target.value; breakdowns().catch(fail); } },
      [...DIMS, "meta"].map((d) => h("option", { value: d, selected: d === bdBy }, d === "meta" ? "metadata tag…" : d)));
    const metaEl = bdBy === "meta" ? h("input", { id: "bd-meta", value: bdMeta || "team", "aria-label": "metadata key", onchange: (e) => { bdMeta = e.target.value; breakdowns().catch(fail); } }) : null;
    const topEl = h("select", { id: "bd-top", "aria-label": "top", onchange: (e) => { bdTop = e.target.value; breakdowns().catch(fail); } },
      [["", "all groups"], ["10", "top 10 spenders"], ["25", "top 25 spenders"]].map(([v, t]) => h("option", { value: v, selected: v === bdTop }, t)));
    const q = query({ by, top: bdTop });
    const data = await api("/api/breakdown?" + q);
    const total = data.rows.reduce((s, r) => s + Number(r.cost_usd), 0) || 1;
    const rows = data.rows.map((r) => h("tr", { dataset: { group: label(r.group[by]) } },
      td(label(r.group[by])), td(num(r.requests), true, r.requests), td(num(r.errors), true, r.errors),
      td(num(r.cache_hits), true, r.cache_hits), td(num(r.prompt_tokens), true, r.prompt_tokens),
      td(num(r.completion_tokens), true, r.completion_tokens), td(usd(r.cost_usd), true, r.cost_usd),
      h("td", {}, h("div", { class: "bar", style: "width:" + (100 * Number(r.cost_usd) / total).toFixed(1) + "px" })),
      td(ms(r.latency_p50_ms), true), td(ms(r.latency_p95_ms), true)));
    main.append(h("h2", {}, "Breakdowns"),
      h("div", { class: "filters" }, h("label", {}, "group by", byEl), metaEl ? h("label", {}, "tag", metaEl) : null, h("label", {}, "show", topEl),
        h("a", { href: "/api/breakdown?" + q + "&format=csv", download: "", id: "export-csv" }, "CSV"),
        h("a", { href: "/api/breakdown?" + q + "&format=json", download: "", id: "export-json" }, "JSON")),
      h("div", { class: "panel" }, table([by, "calls", "errors", "cached", "tokens in", "tokens out", "cost", "share", "p50", "p95"], rows,
        { numeric: [1, 2, 3, 4, 5, 6, 8, 9], class: "breakdown" })));
    const days = await api("/api/days?" + query());
    const dq = query();
    main.append(h("h2", {}, "Day by day"),
      h("div", { class: "filters" }, h("a", { href: "/api/days?" + dq + "&format=csv", download: "" }, "CSV"), h("a", { href: "/api/days?" + dq + "&format=json", download: "" }, "JSON")),
      h("div", { class: "panel" }, table(["day", "calls", "errors", "cached", "tokens in", "tokens out", "cost", "saved"],
        days.rows.map((r) => h("tr", { dataset: { day: r.group.day } }, td(r.group.day), td(num(r.requests), true, r.requests), td(num(r.errors), true, r.errors),
          td(num(r.cache_hits), true), td(num(r.prompt_tokens), true), td(num(r.completion_tokens), true), td(usd(r.cost_usd), true, r.cost_usd), td(usd(r.saved_usd), true))),
        { numeric: [1, 2, 3, 4, 5, 6, 7], class: "days" })));
    setStatus("");
  }

  // -- request log ---------------------------------------------------------------------
  const FILTERS = ["model", "provider", "status", "user", "project", "route", "key"];
  let reqFilters = {};
  async function requests() {
    clear();
    const inputs = FILTERS.map((f) => f === "status"
      ? h("label", {}, f, h("select", { name: f, id: "f-" + f }, ["", "ok", "error", "refused"].map((v) => h("option", { value: v, selected: reqFilters[f] === v }, v || "any"))))
      : h("label", {}, f, h("input", { name: f, id: "f-" + f, value: reqFilters[f] || "", size: 12 })));
    const form = h("form", { class: "filters", id: "req-filters", onsubmit: (e) => {
      e.preventDefault();
      reqFilters = {};
      for (const f of FILTERS) { const v = document.getElementById("f-" + f).value.trim(); if (v) reqFilters[f] = v; }
      requests().catch(fail);
    } }, inputs, h("button", { class: "primary", type: "submit" }, "Filter"));
    const body = h("tbody", { id: "req-rows" });
    const more = h("button", { id: "req-more", hidden: true }, "Older calls");
    main.append(h("h2", {}, "Requests"), form,
      h("div", { class: "panel" }, h("table", { class: "requests" },
        h("thead", {}, h("tr", {}, ["time (UTC)", "status", "provider/model", "route", "user", "project", "attempts", "tokens in/out", "cost", "latency", "cache"].map((t) => h("th", {}, t)))), body)), more);
    let cursor = null;
    async function load() {
      const data = await api("/api/requests?" + query(Object.assign({ limit: "50", cursor }, reqFilters)));
      for (const r of data.rows) {
        body.append(h("tr", { class: "click", dataset: { id: r.id }, onclick: () => showCall(r.id).catch(fail) },
          td(r.ts.slice(0, 19).replace("T", " ")), h("td", {}, h("span", { class: "tag " + r.status }, r.status)),
          td((r.provider || "–") + "/" + (r.model || "–")), td(r.route || ""), td(r.user || ""), td(r.project || ""),
          td(r.attempts, true), td(num(r.prompt_tokens) + " / " + num(r.completion_tokens), true), td(usd(r.cost_usd), true, r.cost_usd),
          td(ms(r.latency_ms), true), td(r.cached ? "hit" : "")));
      }
      cursor = data.next;
      more.hidden = !cursor;
      setStatus(body.children.length + " calls shown");
    }
    more.onclick = () => load().catch(fail);
    await load();
  }

  async function showCall(id) {
    const r = await api("/api/requests/" + encodeURIComponent(id));
    const d = document.getElementById("detail-body");
    const attempts = table(["#", "provider", "model", "key", "status", "error class", "error", "wait", "latency"],
      r.attempts.map((a, i) => h("tr", {}, td(i + 1), td(a.provider || ""), td(a.model || ""), td(a.key_id || ""), td(a.status_code === null || a.status_code === undefined ? "" : a.status_code),
        td(a.error_class || ""), td(a.error || ""), td(ms(a.wait_ms), true), td(ms(a.latency_ms), true))));
    const costs = table(["category", "tokens", "$ / 1M (catalog)"],
      r.cost_breakdown.map((c) => h("tr", {}, td(c.category.replace(/_/g, " ")), td(num(c.tokens), true), td(c.usd_per_million === null ? "unknown" : "$" + c.usd_per_million, true))));
    d.replaceChildren(h("h2", {}, "Call " + r.id),
      h("p", {}, h("span", { class: "tag " + r.status }, r.status), " ", r.ts, " · ", (r.provider || "–") + "/" + (r.model || "–"),
        r.route ? " via route " + r.route : "", " · cost ", usd(r.cost_usd), r.cached ? " · cache hit (saved " + usd(r.saved_usd) + ")" : " · cache miss",
        r.error_type ? " · " + r.error_type + (r.error_class ? " (" + r.error_class + ")" : "") : ""),
      h("h3", {}, "Attempts"), attempts, h("h3", {}, "Cost breakdown"), costs,
      h("h3", {}, "Metadata"), h("pre", {}, JSON.stringify(r.metadata, null, 2)));
    document.getElementById("detail").showModal();
  }

  // -- budgets -------------------------------------------------------------------------
  async function budgets() {
    clear();
    const data = await api("/api/budgets");
    main.append(h("h2", {}, "Budgets"));
    if (!data.configured) { main.append(h("p", { class: "muted" }, "No budget store: start the dashboard with --budget URL (or a --config with [budget]).")); return; }
    const money = (u, v) => (u === "usd" ? usd(v) : num(v) + " " + u);
    main.append(h("div", { class: "panel" }, table(["scope", "window", "spent", "reserved", "remaining", "limit", "used", "thresholds crossed", "kind", "resets"],
      data.budgets.map((b) => h("tr", { dataset: { scope: b.scope } }, td(b.scope), td(b.window), td(money(b.unit, b.spent), true, b.spent), td(money(b.unit, b.reserved), true, b.reserved),
        td(money(b.unit, b.remaining), true, b.remaining), td(money(b.unit, b.limit), true, b.limit),
        h("td", {}, h("div", { class: "meter" + (b.used >= 1 ? " bad" : b.used >= 0.8 ? " warn" : "") }, h("div", { style: "width:" + Math.min(100, b.used * 100).toFixed(0) + "%" })), " ", pct(b.used)),
        td(b.crossed.length ? b.crossed.map(pct).join(", ") : (b.thresholds.length ? "none yet" : "–")), td(b.hard ? "hard" : "soft"), td((b.resets_at || "–").slice(0, 16).replace("T", " ")))),
      { numeric: [2, 3, 4, 5] })));
    if (!data.budgets.length) main.append(h("p", { class: "muted" }, "No limits configured."));
  }

  // -- keys ----------------------------------------------------------------------------
  async function keys(notice) {
    clear();
    const data = await api("/api/keys");
    main.append(h("h2", {}, "Virtual keys"));
    if (!data.configured) { main.append(h("p", { class: "muted" }, "No key store: start the dashboard with --keys URL.")); return; }
    if (notice) main.append(notice);
    if (!READ_ONLY) {
      const field = (n, ph) => h("label", {}, n, h("input", { name: n, id: "k-" + n, placeholder: ph || "", size: 12 }));
      main.append(h("form", { class: "filters", id: "key-create", onsubmit: (e) => {
        e.preventDefault();
        const body = {};
        for (const n of ["name", "org", "project", "user", "models", "budget"]) { const v = document.getElementById("k-" + n).value.trim(); if (v) body[n] = v; }
        post("/api/keys", body).then((res) => keys(secretNotice("Created " + res.key.id, res.secret))).catch(fail);
      } }, field("name"), field("org"), field("project"), field("user"), field("models", "gpt-4o*,…"), field("budget", "5/day"),
        h("button", { class: "primary", type: "submit" }, "Create key")));
    }
    const rows = data.keys.map((k) => h("tr", { dataset: { key: k.id, status: k.status } },
      td(k.id), td(k.name || ""), td([k.org, k.project, k.user].map((v) => v || "–").join(" / ")), td(k.models ? k.models.join(", ") : "any"),
      td(k.limits.map((l) => l.amount + " " + l.unit + "/" + l.window).join(", ") || "–"),
      td(k.rate_limit ? Object.entries(k.rate_limit).filter(([, v]) => v !== null).map(([a, v]) => v + " " + a).join(", ") : "–"),
      td((k.created_at || "").slice(0, 16).replace("T", " ")), td(k.last_used ? k.last_used.slice(0, 16).replace("T", " ") : "never"),
      h("td", {}, h("span", { class: "tag " + k.status }, k.status)),
      READ_ONLY || k.status === "revoked" ? td("") : h("td", {},
        h("button", { class: "danger", "data-action": "revoke", onclick: () => { if (confirm("Revoke " + k.id + "?")) post("/api/keys/" + k.id + "/revoke").then(() => keys()).catch(fail); } }, "Revoke"), " ",
        h("button", { "data-action": "rotate", onclick: () => post("/api/keys/" + k.id + "/rotate").then((res) => keys(secretNotice("Rotated " + k.id, res.secret))).catch(fail) }, "Rotate"))));
    main.append(h("div", { class: "panel" }, table(["id", "name", "org / project / user", "models", "limits", "rate", "created", "last used", "status", READ_ONLY ? "" : "actions"], rows, { class: "keys" })));
  }
  function secretNotice(title, secret) {
    return h("div", { class: "panel", id: "new-secret" }, h("strong", {}, title + ": copy the secret now, it is shown once and never stored"), h("div", { class: "secret" }, secret));
  }

  // -- models --------------------------------------------------------------------------
  let modelQuery = { q: "", provider: "", capability: "" };
  async function models() {
    clear();
    const data = await api("/api/models?" + new URLSearchParams(modelQuery).toString());
    const form = h("form", { class: "filters", id: "model-search", onsubmit: (e) => {
      e.preventDefault();
      modelQuery = { q: document.getElementById("m-q").value, provider: document.getElementById("m-provider").value, capability: document.getElementById("m-cap").value };
      models().catch(fail);
    } },
      h("label", {}, "search", h("input", { id: "m-q", value: modelQuery.q, placeholder: "gpt-4o" })),
      h("label", {}, "provider", h("select", { id: "m-provider" }, ["", ...data.providers].map((p) => h("option", { value: p, selected: p === modelQuery.provider }, p || "any")))),
      h("label", {}, "capability", h("select", { id: "m-cap" }, ["", ...data.capabilities].map((c) => h("option", { value: c, selected: c === modelQuery.capability }, c || "any")))),
      h("button", { class: "primary", type: "submit" }, "Search"));
    const price = (v) => (v === null ? "–" : "$" + v);
    main.append(h("h2", {}, "Models"), form, h("p", { class: "muted", id: "model-count" }, data.count + " models" + (data.count > data.models.length ? " (first " + data.models.length + " shown)" : "") +
        (data.catalog.source ? " · prices from " + data.catalog.source + (data.catalog.source_sha256 ? " (sha256 " + data.catalog.source_sha256.slice(0, 12) + "…)" : "") : "")),
      h("div", { class: "panel" }, table(["model", "mode", "context", "max out", "in $/1M", "cached in", "cache write", "out $/1M", "reasoning", "audio in", "capabilities"],
        data.models.map((m) => { const p = m.prices_per_million; return h("tr", { dataset: { model: m.model } }, td(m.model), td(m.mode), td(num(m.context_window), true), td(num(m.max_output_tokens), true),
          td(price(p.input), true), td(price(p.cached_input), true), td(price(p.cache_write), true), td(price(p.output), true), td(price(p.reasoning), true), td(price(p.audio_input), true), td(m.capabilities.join(", "))); }),
        { numeric: [2, 3, 4, 5, 6, 7, 8, 9], class: "models" })));
  }

  // -- health --------------------------------------------------------------------------
  async function health(refresh) {
    const data = await api("/api/health");
    const rows = (list) => list.map((b) => h("tr", { dataset: { name: b.name } }, td(b.name), h("td", {}, h("span", { class: "tag " + b.state }, b.state.replace("_", "-"))),
      td(b.failures, true), td(b.reason || ""), td(b.retry_in_s === null ? "" : Math.round(b.retry_in_s) + " s", true)));
    const body = data.configured
      ? [h("h2", {}, "Targets"), h("div", { class: "panel" }, table(["target", "state", "failures", "reason", "retry in"], rows(data.targets))),
         h("h2", {}, "Provider keys"), h("div", { class: "panel" }, table(["key", "state", "failures", "reason", "retry in"], rows(data.keys)))]
      : [h("p", { class: "muted" }, "No shared health store: set [router] health = \"redis://…\" in the config and pass --config.")];
    clear();
    main.append(h("h2", {}, "Health"), ...body);
    if (refresh) setStatus("updated " + new Date().toLocaleTimeString());
  }

  // -- routing -------------------------------------------------------------------------
  const PAGES = { overview, breakdowns, requests, budgets, keys, models, health };
  const LIVE = { overview: true, health: true };
  function route() {
    const name = (location.hash.replace(/^#\/?/, "") || "overview").split("?")[0];
    const page = PAGES[name] ? name : "overview";
    document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
    document.body.dataset.page = page;
    delete document.body.dataset.ready;
    clearInterval(timer);
    const mine = ++gen;
    setStatus("loading…");
    PAGES[page](false).then(() => {
      if (mine !== gen) return;
      if (statusEl.textContent === "loading…") setStatus("");
      document.body.dataset.ready = page;
    }).catch(fail);
    if (LIVE[page]) timer = setInterval(() => PAGES[page](true).catch(fail), REFRESH_MS);
  }
  window.addEventListener("hashchange", route);
  windowEl.addEventListener("change", route);
  route();
})();
