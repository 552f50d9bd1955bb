/**
 * The status page the API serves at `/`: the services' health, every table with its sync state
 * and reason, writes in flight with their progress, the last commits, each table's history as a
 * small chart (rows after each commit, inline SVG), failures with their reasons. It refreshes by
 * itself (every 5 s) and loads nothing from elsewhere: one HTML page, its script and its style,
 * all from this API, under a Content-Security-Policy that allows nothing else.
 *
 * How the browser authenticates: the page and its two files are public and hold no data; the
 * data comes from three read routes per refresh whatever the number of tables (/healthz, /status
 * and /summary: every table's recent commits, the writes in flight and the web UIs' addresses,
 * api/summary.ts), which the page's script asks with `Authorization: Bearer <token>`, as any client does. The
 * token is typed into the page's form, or given in the URL's fragment (`/#token=…`, which a
 * browser never sends to a server, so no access log or proxy sees it; the script removes it from
 * the address bar at once), and kept in the tab's sessionStorage only. No cookie: a credential
 * the browser attaches by itself would let another site's page make reads in the user's name
 * (CSRF), and the Host/Origin checks stay what they are for every route. The read token is what
 * the page needs (lakeform outputs apiReadToken); the write token works too but isn't needed.
 */

/** The page's security headers: nothing but this API's own files, no framing, no referrer. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export const PAGE_PATHS = { html: "/", script: "/ui/status.js", style: "/ui/status.css" } as const;

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lakeform status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${PAGE_PATHS.style}">
<script src="${PAGE_PATHS.script}" defer></script>
</head>
<body>
<header><h1>Lakeform</h1><span id="updated" class="muted"></span><button id="signout" type="button" hidden>Forget token</button></header>
<form id="login" hidden>
  <p>This page reads the lakehouse through the API's read routes: give it the API's read token
  (<code>lakeform outputs apiReadToken --show-secrets</code>). It is kept in this tab only.</p>
  <label>Token <input id="token" type="password" autocomplete="off" required></label>
  <button type="submit">Show status</button>
  <p id="login-error" class="bad"></p>
</form>
<main id="main" hidden>
  <section><h2>Services</h2><ul id="services" class="services"></ul><p id="uis" class="muted"></p></section>
  <section><h2>Tables</h2><p id="spec-error" class="bad"></p>
    <table id="tables"><thead><tr><th>Table</th><th>Format</th><th>Synced</th><th>Reason</th><th>Rows</th><th>Last commit</th><th>History (rows over commits)</th></tr></thead><tbody></tbody></table>
  </section>
  <section><h2>Writes in flight</h2><ul id="writes"></ul></section>
  <section><h2>Last commits</h2><table id="commits"><thead><tr><th>Table</th><th>Commit</th><th>Time</th><th>Operation</th><th>Inserted</th><th>Updated</th><th>Deleted</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Failures</h2><ul id="failures"></ul></section>
</main>
</body>
</html>
`;

export const STATUS_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2330; background: #fafbfc; }
header { display: flex; gap: 1em; align-items: baseline; }
h1 { font-size: 1.4em; margin: 0; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e3e6ea; vertical-align: middle; }
.muted { color: #6a7280; } .bad { color: #b42318; } .good { color: #067647; } .warn { color: #b54708; }
.services { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5em; }
.services li { padding: .3em .7em; border-radius: 1em; background: #fff; border: 1px solid #e3e6ea; }
.services li.up::before { content: "\\25CF "; color: #067647; } .services li.down::before { content: "\\25CF "; color: #b42318; }
svg.chart polyline { fill: none; stroke: #2e5aac; stroke-width: 1.5; } svg.chart circle { fill: #2e5aac; }
progress { width: 12em; vertical-align: middle; }
`;

/** The page's script: plain ES2020, no library, no backticks (it lives in a template string). */
export const STATUS_JS = String.raw`"use strict";
(function () {
  var KEY = "lakeform.token";
  var REFRESH_MS = 5000;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  // A token in the fragment (never sent to the server) is taken and removed from the address bar.
  function tokenFromFragment() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return false;
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
    return true;
  }
  tokenFromFragment();
  // The page already open and a link with a token followed: no reload, only this event.
  window.addEventListener("hashchange", function () { if (tokenFromFragment()) refresh(); });
  var token = function () { return sessionStorage.getItem(KEY); };
  function showLogin(message) {
    $("main").hidden = true; $("signout").hidden = true; $("login").hidden = false;
    $("login-error").textContent = message || "";
  }
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    refresh();
  });
  $("signout").addEventListener("click", function () { sessionStorage.removeItem(KEY); showLogin(); });

  function Unauthorized() {}
  function get(url) {
    return fetch(url, { headers: { authorization: "Bearer " + token() }, cache: "no-store" }).then(function (res) {
      if (res.status === 401) throw new Unauthorized();
      return res.json().then(function (body) { return { status: res.status, body: body }; });
    });
  }

  /** Rows after each commit, oldest first, as /summary counted them over the table's whole history. */
  function rowsOverCommits(commits) {
    return commits.map(function (c) { return { commit: c.commit, rows: c.rowsAfter }; });
  }
  var SVG = "http://www.w3.org/2000/svg";
  function chart(points) {
    var w = 160, h = 36, pad = 3;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chart"); svg.setAttribute("width", String(w)); svg.setAttribute("height", String(h));
    svg.setAttribute("viewBox", "0 0 " + w + " " + h); svg.setAttribute("data-points", String(points.length));
    var title = document.createElementNS(SVG, "title");
    title.textContent = points.map(function (p) { return p.commit + ": " + p.rows + " rows"; }).join("\n");
    svg.appendChild(title);
    if (points.length === 0) return svg;
    var max = Math.max.apply(null, points.map(function (p) { return p.rows; }).concat([1]));
    var xy = points.map(function (p, i) {
      var x = points.length === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (points.length - 1);
      var y = h - pad - (p.rows / max) * (h - 2 * pad);
      return [x.toFixed(1), y.toFixed(1)];
    });
    var line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", xy.map(function (p) { return p.join(","); }).join(" "));
    svg.appendChild(line);
    xy.forEach(function (p) {
      var c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", "2");
      svg.appendChild(c);
    });
    return svg;
  }
  function condition(t, type) { return (t.conditions || []).filter(function (c) { return c.type === type; })[0]; }
  function reasonOf(t) {
    var d = condition(t, "Degraded"), s = condition(t, "Synced");
    var why = d && d.status === "True" ? d : s;
    if (!why) return "-";
    return why.reason + (why.type === "Synced" && why.reason === "UpToDate" ? "" : ": " + why.message);
  }
  function fill(tbody, rows) {
    tbody.textContent = "";
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function td(text, cls) { var e = el("td", { text: text }); if (cls) e.className = cls; return e; }

  var timer;
  function refresh() {
    clearTimeout(timer);
    if (!token()) { showLogin(); return; }
    // Three requests whatever the number of tables: /summary has every table's recent commits and the writes in flight.
    Promise.all([get("/healthz"), get("/status"), get("/summary")]).then(function (r) {
      var health = r[0].body, status = r[1].body, summary = r[2].status === 200 ? r[2].body : { tables: [], writes: [], ui: {} };
      var tables = Object.keys(status.tables || {}).sort().map(function (k) { return status.tables[k]; });
      var byTable = {};
      (summary.tables || []).forEach(function (t) { byTable[t.table] = t; });
      var per = tables.map(function (t) {
        var s = byTable[t.table];
        return [s && s.commits ? s.commits : null, (summary.writes || []).filter(function (w) { return w.table === t.table; })];
      });
      render(health, status, tables, per, summary.ui || {});
    }).then(function () {
      $("login").hidden = true; $("main").hidden = false; $("signout").hidden = false;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString() + ", every " + REFRESH_MS / 1000 + " s";
      document.body.setAttribute("data-refreshed", String(Date.now()));
      timer = setTimeout(refresh, REFRESH_MS);
    }, function (err) {
      if (err instanceof Unauthorized) { sessionStorage.removeItem(KEY); showLogin("That token is not one of this API's."); return; }
      $("updated").textContent = "could not refresh: " + err.message;
      timer = setTimeout(refresh, REFRESH_MS);
    });
  }

  function link(text, href) { var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: text }); return a; }
  function render(health, status, tables, per, ui) {
    var uis = $("uis"); uis.textContent = "";
    if (ui.spark) { uis.appendChild(link("Spark UI", ui.spark)); uis.appendChild(document.createTextNode(" (any user, the read token as password) ")); }
    if (ui.trino) { uis.appendChild(link("Trino UI", ui.trino)); uis.appendChild(document.createTextNode(" (Trino's user and password: lakeform outputs trinoPassword)")); }
    fill($("services"), ["s3", "metastore", "spark", "trino"].map(function (d) {
      return el("li", { "class": health[d] ? "up" : "down", "data-service": d, text: d + (health[d] ? " up" : " DOWN") });
    }).concat([el("li", { "class": status.updatedAt ? "up" : "down", "data-service": "reconciler", text: "reconciler " + (status.updatedAt ? "reported " + new Date(status.updatedAt).toLocaleTimeString() : "no report yet") })]));
    $("spec-error").textContent = status.specError ? "tables.yaml is invalid (serving the last valid version): " + status.specError : "";
    var commits = [], writes = [], failures = [];
    fill($("tables").tBodies[0], tables.map(function (t, i) {
      var history = per[i][0];
      (history || []).forEach(function (c) { commits.push({ table: t.table, c: c }); });
      per[i][1].forEach(function (w) { writes.push(w); });
      if (t.failures > 0 || !t.inSync) {
        var d = condition(t, "Degraded"), s = condition(t, "Synced");
        var why = d && d.status === "True" ? d : s;
        if (why && why.status !== "True" || t.failures > 0) failures.push(t.table + ": " + (why ? why.reason + ": " + why.message : "") + (t.failures ? " (" + t.failures + " failed pass" + (t.failures === 1 ? "" : "es") + (t.nextAttemptAt ? ", next " + new Date(t.nextAttemptAt).toLocaleTimeString() : "") + ")" : ""));
      }
      var chartCell = el("td", {}, [history ? chart(rowsOverCommits(history)) : el("span", { "class": "muted", text: "history unavailable" })]);
      var tr = el("tr", { "data-table": t.table, "data-synced": String(t.inSync) }, [
        td(t.table), td(t.format), td(t.inSync ? "synced" : "NOT SYNCED", t.inSync ? "good" : "bad"), td(reasonOf(t)),
        td(t.rowCount === undefined || t.rowCount === null ? "-" : String(t.rowCount)),
        td(t.lastCommit ? t.lastCommit.id : "-"), chartCell,
      ]);
      return tr;
    }));
    fill($("writes"), writes.length === 0 ? [el("li", { "class": "muted", text: "none" })] : writes.map(function (w) {
      var pct = w.percent !== undefined ? Math.round(w.percent) : undefined;
      var li = el("li", { "data-table": w.table, text: w.table + " <- " + w.source + ": " + w.stage + (w.rowsTotal ? ", " + w.rowsTotal + " rows" : "") + ", " + Math.round(w.elapsedMs / 1000) + " s " });
      if (pct !== undefined) li.appendChild(el("progress", { max: "100", value: String(pct) }));
      return li;
    }));
    commits.sort(function (a, b) { return a.c.time < b.c.time ? 1 : a.c.time > b.c.time ? -1 : 0; });
    fill($("commits").tBodies[0], commits.slice(0, 10).map(function (x) {
      return el("tr", { "data-table": x.table }, [td(x.table), td(x.c.commit), td(x.c.time), td(x.c.operation || "-"), td(String(x.c.rowsInserted || 0)), td(String(x.c.rowsUpdated || 0)), td(String(x.c.rowsDeleted || 0))]);
    }));
    fill($("failures"), failures.length === 0 ? [el("li", { "class": "muted", text: "none" })] : failures.map(function (f) { return el("li", { "class": "bad", text: f }); }));
  }
  refresh();
})();
`;
