/* qa-engine web UI: every figure comes from /api/v1 with the session cookie (same role scoping as the API). */
"use strict";
(() => {
// start-up data: a JSON block in the page (not a script: the Content-Security-Policy allows no inline script)
const QA = (() => { try { return JSON.parse(document.getElementById("qa-boot").textContent); } catch (e) { return null; } })()
  || {messages: {}, lang: "zh", user: {}};
window.QA = QA;
const API = "/api/v1";
const $ = (sel, root = document) => root.querySelector(sel);
/* Text that holds bidi embeddings, overrides or isolates (U+202A-202E, U+2066-2069) is wrapped in an isolate
   (FSI ... PDI), so that a right-to-left override left open in a name cannot reverse what the page shows after it;
   a PDI with no isolate of its own to close (it would close the wrapper) is dropped. Other text is unchanged. */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/u;
const isolate = (s) => {
  const text = String(s ?? "");
  if (!BIDI_CONTROLS.test(text)) return text;
  let open = 0, out = "";
  for (const ch of text) {
    if (ch >= "\u2066" && ch <= "\u2068") open += 1;
    else if (ch === "\u2069") { if (!open) continue; open -= 1; }
    out += ch;
  }
  return `\u2068${out}${"\u2069".repeat(open + 1)}`;
};
/* A message with its {placeholders} filled in one pass: a value is text, never read as a placeholder or as a
   replacement pattern ($&), and isolated (see isolate). */
const t = (key, values = {}) => (QA.messages[key] ?? key)
  .replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(values, name) ? isolate(values[name]) : whole));
/* ``escValue``: text for HTML, exactly as it is (the value of a field the user edits and sends back); ``esc``: text to
   show, also isolated (see isolate). */
const escValue = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const esc = (s) => escValue(isolate(s));
const csrf = () => $('meta[name="csrf-token"]')?.content || "";

class ApiError extends Error { constructor(status, detail) { super(detail); this.status = status; } }

async function api(path, options = {}) {
  const headers = {"Accept": "application/json", ...(options.headers || {})};
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf();
  let body = options.body;
  if (options.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(options.json); }
  const response = await fetch(API + path, {...options, headers, body, credentials: "same-origin"});
  if (response.status === 401) { location.href = "/ui/login?next=" + encodeURIComponent(location.pathname); throw new ApiError(401, ""); }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, errorDetail(data) || response.statusText);
  return data;
}

/* The message of an error answer: ``detail`` (a request-validation error's list joined), else the body's text. */
const errorDetail = (data) => (typeof data === "object" && data !== null
  ? (Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ") : data.detail) : data);

function toast(message, kind = "ok") {
  const box = $("#toast");
  box.textContent = message; box.className = `show ${kind}`;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { box.className = ""; }, 4000);
}

const fmtScore = (s) => (s === null || s === undefined ? "–" : Number(s).toFixed(1));
const fmtTime = (sec) => { sec = Math.max(0, Number(sec) || 0); const m = Math.floor(sec / 60); return `${m}:${String(Math.floor(sec % 60)).padStart(2, "0")}`; };
const locale = () => (QA.lang === "zh" ? "zh-CN" : "en-GB");
const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString(locale(), {dateStyle: "medium", timeStyle: "short"}) : "–");
/* Grades and categories: the API gives canonical ids (fail, complaint) beside the pack's labels (不合格, 投诉); the UI
   shows the id's label in the UI language, and a pack's own label when the id is not one it knows. */
const GRADE_IDS = {"优秀": "excellent", "良好": "good", "合格": "pass", "及格": "pass", "不合格": "fail", "不及格": "fail",
  excellent: "excellent", good: "good", pass: "pass", fail: "fail"};
const CATEGORY_IDS = {"咨询": "inquiry", "投诉": "complaint", "建议": "suggestion", "售后": "after_sales", inquiry: "inquiry",
  complaint: "complaint", suggestion: "suggestion", "after-sales": "after_sales", after_sales: "after_sales"};
const canonical = (ids, v) => (v === null || v === undefined ? v : ids[v] || ids[String(v).toLowerCase()] || v);
const gradeId = (g) => canonical(GRADE_IDS, g);
const categoryId = (c) => canonical(CATEGORY_IDS, c);
const localLabel = (kind, id, raw) => (QA.messages[`${kind}.${id}`] ? t(`${kind}.${id}`) : (raw ?? id));
const gradeLabel = (g, raw) => localLabel("grade", gradeId(g), raw ?? g);
const categoryLabel = (c, raw) => (c === null || c === undefined ? "–" : localLabel("category", categoryId(c), raw ?? c));
const gradeClass = (g) => ({excellent: "g-a", good: "g-b", pass: "g-c", fail: "g-d"}[gradeId(g)] || "g-n");
/* ``g``: an id or a label; ``raw``: the pack's label (shown as a tooltip when it differs) */
const gradeBadge = (g, raw) => (g ? `<span class="badge ${gradeClass(g)}"${raw && raw !== gradeLabel(g, raw) ? ` title="${esc(raw)}"` : ""}>${esc(gradeLabel(g, raw))}</span>` : "–");
/* a row with the canonical ``grade_id`` (colour, UI-language name) and the pack's ``grade`` label (tooltip) */
const callGrade = (c) => gradeBadge(c.grade_id || c.grade, c.grade);
const callsUrl = (query) => `/ui/calls?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== ""))}`;
const statusBadge = (s) => `<span class="badge st-${esc(s)}">${esc(t("status." + s))}</span>`;
const isoDay = (d) => d.toISOString().slice(0, 10);
/* Days are the call centre's (QA.timezone: the service's QA_ENGINE_TIMEZONE), as the API's date filters, scorecards
   and weekly analysis count them; times are still shown in the browser's zone (fmtDate). */
let centreDays = null;
const centreDay = (moment) => {
  centreDays = centreDays || new Intl.DateTimeFormat("en-US", {timeZone: QA.timezone || "UTC", year: "numeric", month: "2-digit", day: "2-digit"});
  const p = Object.fromEntries(centreDays.formatToParts(moment).map((part) => [part.type, part.value]));
  return `${p.year}-${p.month}-${p.day}`;
};
const addDays = (day, n) => { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return isoDay(d); };
const mondayOf = (day) => addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7));
const centreMonday = () => mondayOf(centreDay(new Date()));
const empty = (text) => `<div class="empty"><span class="empty-icon" aria-hidden="true">○</span><p>${esc(text)}</p></div>`;
// inline style attributes are refused by the Content-Security-Policy: markup carries data-style, set here via CSSOM
const applyStyles = (root) => root.querySelectorAll("[data-style]").forEach((node) => {
  for (const decl of node.dataset.style.split(";")) {
    const i = decl.indexOf(":");
    if (i > 0) node.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
  }
  node.removeAttribute("data-style");
});
const failure = (el, err) => { el.innerHTML = `<p class="alert" role="alert">${esc(t("common.error"))}: ${esc(err.message)}</p>`; };

/* ---------- charts: hand-written SVG ---------- */
function barChart(el, rows, {max, unit = "", color = "var(--brand)"} = {}) {
  if (!rows.length) { el.innerHTML = empty(t("common.no_data")); return; }
  const top = max ?? Math.max(...rows.map((r) => r.value), 1);
  // a row with ``href`` opens the calls behind it
  const row = (r) => `<span class="bar-label" title="${esc(r.title || r.label)}">${esc(r.label)}</span>
    <span class="bar-track"><span class="bar-fill" data-style="width:${Math.max(2, (100 * r.value) / top)}%;background:${r.color || color}"></span></span>
    <span class="bar-value">${esc(r.text ?? r.value + unit)}</span>`;
  el.innerHTML = `<ul class="bars">${rows.map((r) => (r.href ? `<li class="linked"><a class="bar-row" href="${esc(r.href)}">${row(r)}</a></li>` : `<li>${row(r)}</li>`)).join("")}</ul>`;
  applyStyles(el);
}

function lineChart(el, points, {min = 0, max = 100, label = ""} = {}) {
  if (!points.length) { el.innerHTML = empty(t("common.no_data")); return; }
  const W = 560, H = 200, L = 36, R = 12, T = 12, B = 28;
  const x = (i) => L + (points.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (points.length - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - min) / (max - min || 1));
  const grid = [0, 25, 50, 75, 100].map((v) => { const val = min + ((max - min) * v) / 100; return `<line x1="${L}" x2="${W - R}" y1="${y(val)}" y2="${y(val)}" class="grid"/><text x="${L - 6}" y="${y(val) + 4}" class="axis" text-anchor="end">${Math.round(val)}</text>`; }).join("");
  const valid = points.map((p, i) => ({...p, i})).filter((p) => p.value !== null && p.value !== undefined);
  const path = valid.map((p, k) => `${k ? "L" : "M"}${x(p.i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const area = valid.length ? `${path} L${x(valid[valid.length - 1].i)},${y(min)} L${x(valid[0].i)},${y(min)} Z` : "";
  const every = Math.ceil(points.length / 8);
  const anchor = (i) => (points.length > 1 && i === points.length - 1 ? "end" : points.length > 1 && i === 0 ? "start" : "middle");  // edge labels stay inside the chart
  const labels = points.map((p, i) => (i % every === 0 ? `<text x="${x(i)}" y="${H - 8}" class="axis" text-anchor="${anchor(i)}">${esc(p.label)}</text>` : "")).join("");
  const dot = (p) => `<circle cx="${x(p.i)}" cy="${y(p.value)}" r="3.5" class="dot"><title>${esc(p.label)}: ${esc(p.text ?? p.value)}</title></circle>`;
  // a dot with ``href`` is a link (Tab reaches it, Enter follows it), named by ``name`` (default: label and text)
  const dots = valid.map((p) => (p.href ? `<a href="${esc(p.href)}" class="dot-link" aria-label="${esc(p.name ?? `${p.label}: ${p.text ?? p.value}`)}">${dot(p)}</a>` : dot(p))).join("");
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" class="line-chart" role="${valid.some((p) => p.href) ? "group" : "img"}" aria-label="${esc(label)}">${grid}<path d="${area}" class="area"/><path d="${path}" class="line"/>${dots}${labels}</svg>`;
}

function donut(el, rows) {
  const total = rows.reduce((a, r) => a + r.value, 0);
  if (!total) { el.innerHTML = empty(t("common.no_data")); return; }
  const colors = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#64748b"];
  let angle = -Math.PI / 2; const r = 60, c = 80;
  const arcs = rows.map((row, i) => {
    const a = (2 * Math.PI * row.value) / total; const end = angle + a;
    const large = a > Math.PI ? 1 : 0;
    const p = (ang) => `${(c + r * Math.cos(ang)).toFixed(2)},${(c + r * Math.sin(ang)).toFixed(2)}`;
    const d = rows.length === 1 ? `M${c},${c - r} A${r},${r} 0 1 1 ${c - 0.01},${c - r}` : `M${p(angle)} A${r},${r} 0 ${large} 1 ${p(end)}`;
    angle = end; const arc = `<path d="${d}" stroke="${row.color || colors[i % colors.length]}" stroke-width="26" fill="none"><title>${esc(row.label)}: ${row.value}</title></path>`;
    return row.href ? `<a href="${esc(row.href)}" class="slice" tabindex="-1">${arc}</a>` : arc;  // the legend's link is the keyboard's way in
  }).join("");
  const legend = rows.map((row, i) => { const text = `<span class="sw" data-style="background:${row.color || colors[i % colors.length]}"></span>${esc(row.label)} <strong>${row.value}</strong> <span class="muted">${Math.round((100 * row.value) / total)}%</span>`;
    return `<li>${row.href ? `<a href="${esc(row.href)}" class="legend-link">${text}</a>` : text}</li>`; }).join("");
  el.innerHTML = `<div class="donut"><svg viewBox="0 0 160 160" role="img" aria-label="${esc(rows.map((r) => `${r.label} ${r.value}`).join(", "))}">${arcs}<text x="80" y="86" text-anchor="middle" class="donut-total">${total}</text></svg><ul class="legend-list">${legend}</ul></div>`;
  applyStyles(el);
}

const GRADE_COLORS = {excellent: "#10b981", good: "#0ea5e9", pass: "#f59e0b", fail: "#ef4444"};
const GRADE_ORDER = ["excellent", "good", "pass", "fail"];
/* calls per grade id -> donut rows, best grade first; ``query``: the filters of the calls behind the chart */
const gradeRows = (grades, query = {}) => {
  const merged = {}; for (const [g, n] of Object.entries(grades)) if (n) merged[gradeId(g)] = (merged[gradeId(g)] || 0) + n;
  const rank = (g) => (GRADE_ORDER.includes(g) ? GRADE_ORDER.indexOf(g) : GRADE_ORDER.length);
  return Object.entries(merged).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([g, n]) => ({label: gradeLabel(g), value: n, color: GRADE_COLORS[g], href: callsUrl({...query, grade: g})}));
};

function table(columns, rows, emptyText) {
  if (!rows.length) return empty(emptyText || t("common.no_data"));
  return `<div class="table-wrap"><table><thead><tr>${columns.map((c) => `<th scope="col" class="${c.cls || ""}">${esc(c.label)}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr>${columns.map((c) => `<td class="${c.cls || ""}">${c.html(r)}</td>`).join("")}</tr>`).join("")}</tbody></table></div>`;
}

const agentLink = (name) => (QA.user.role === "supervisor" || QA.user.role === "admin" ? `<a href="/ui/agents/${encodeURIComponent(name)}" class="agent-link">${esc(name)}</a>` : esc(name));
const callColumns = (withAgent = true) => [
  {label: t("field.call_id"), html: (c) => `<a href="/ui/calls/${esc(c.id)}" class="call-link">${esc(c.call_id)}</a>`},
  ...(withAgent ? [{label: t("field.agent"), html: (c) => agentLink(c.agent)}, {label: t("field.team"), html: (c) => esc(c.team || "–")}] : []),
  {label: t("field.started_at"), html: (c) => esc(fmtDate(c.started_at || c.created_at))},
  {label: t("field.duration"), html: (c) => (c.duration ? fmtTime(c.duration) : "–"), cls: "num"},
  {label: t("field.category"), html: (c) => esc(categoryLabel(c.category_id || c.category, c.category))},
  {label: t("field.status"), html: (c) => statusBadge(c.status)},
  {label: t("field.score"), html: (c) => `<strong>${fmtScore(c.score)}</strong>`, cls: "num"},
  {label: t("field.grade"), html: callGrade},
];

async function fetchCalls(query, maxPages = 5) {
  const items = []; let offset = 0;
  for (let page = 0; page < maxPages; page++) {
    const data = await api(`/calls?${new URLSearchParams({...query, limit: 200, offset})}`);
    items.push(...data.items); offset += data.items.length;
    if (offset >= data.total || !data.items.length) break;
  }
  return items;
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
function groupAverage(calls, key) {
  const groups = new Map();
  for (const c of calls) { if (c.score === null) continue; const k = c[key] || "–"; if (!groups.has(k)) groups.set(k, []); groups.get(k).push(c.score); }
  return [...groups.entries()].map(([k, xs]) => ({label: k, value: mean(xs), n: xs.length})).sort((a, b) => b.value - a.value);
}

/* Rule titles: the summary of a pack in the UI language first (zh-CN's Chinese, en's English; ``preferPack`` first
   among equals), then the other packs; the rule id only when no pack has the rule. */
const DEFAULT_PACKS = {zh: "zh-CN", en: "en"};
const uiLanguagePack = (p) => String(p.language || "").slice(0, 2).toLowerCase() === QA.lang;
const titleCache = {};
function ruleTitles(preferPack) {
  const key = preferPack || "";
  if (!titleCache[key]) titleCache[key] = (async () => {
    const titles = {};
    try {
      const list = await api("/packs");
      const rank = (p) => (uiLanguagePack(p) ? 0 : 4) + (p.id === preferPack ? 0 : 2) + (p.id === DEFAULT_PACKS[QA.lang] ? 0 : 1);
      const packs = [...list.items].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id)).slice(0, 6);
      const details = await Promise.all(packs.map((p) => api(`/packs/${encodeURIComponent(p.id)}`).catch(() => null)));
      for (const pack of details) for (const r of pack?.rules || []) if (r.summary && !titles[r.id]) titles[r.id] = r.summary;
    } catch (err) { /* the ids stand in for the titles */ }
    return titles;
  })();
  return titleCache[key];
}

/* ---------- pages ---------- */
const pages = {};

/* The alerts panel follows the live feed (live.js draws the items, as on the live monitor page). */
function dashboardAlerts() {
  const list = $("#dash-alerts"), panel = $("#dash-live"), status = $("#dash-live-status");
  if (!list || !window.qaLive) return;
  const alerts = window.qaLive.alertList(list, {limit: 10, liveLink: QA.user.role !== "agent"});
  window.qaLive.connect({
    alert: alerts.alert, ended: alerts.ended,
    open: () => { panel.dataset.feed = "open"; status.hidden = true; },
    error: (state) => { panel.dataset.feed = state === EventSource.CLOSED ? "closed" : "reconnecting"; status.hidden = false; },
  });
}

pages.dashboard = async () => {
  dashboardAlerts();
  const today = centreDay(new Date()); const monday = mondayOf(today);
  try {
    const calls = await fetchCalls({from: addDays(today, -29), status: "done", sort: "-started_at"});
    const day = (c) => centreDay(new Date(c.started_at || c.created_at));
    const todays = calls.filter((c) => day(c) === today), week = calls.filter((c) => day(c) >= monday);
    $("#kpi-today").textContent = todays.length;
    $("#kpi-today-avg").textContent = t("dash.avg", {score: fmtScore(mean(todays.map((c) => c.score).filter((s) => s !== null)))});
    $("#kpi-week").textContent = week.length;
    $("#kpi-week-avg").textContent = t("dash.avg", {score: fmtScore(mean(week.map((c) => c.score).filter((s) => s !== null)))});
    const weekQuery = {from: monday, status: "done"};
    $("#kpi-failing").textContent = week.filter((c) => (c.grade_id || gradeId(c.grade)) === "fail").length;
    const failingLink = $("#kpi-failing-link"); if (failingLink) failingLink.href = callsUrl({...weekQuery, grade: "fail"});
    const days = [];
    for (let i = 29; i >= 0; i--) days.push(addDays(today, -i));
    lineChart($("#trend"), days.map((d) => { const xs = calls.filter((c) => day(c) === d && c.score !== null).map((c) => c.score); const m = mean(xs); return {label: d.slice(5), value: m, text: m === null ? "–" : `${fmtScore(m)} (${xs.length})`, href: callsUrl({from: d, to: d, status: "done"})}; }), {label: t("dash.trend")});
    const grades = {}; for (const c of week) { const g = c.grade_id || gradeId(c.grade); if (g) grades[g] = (grades[g] || 0) + 1; }
    donut($("#grades"), gradeRows(grades, weekQuery));
    const scoreBars = (rows, key) => rows.slice(0, 8).map((r) => ({label: r.label, value: r.value, text: `${fmtScore(r.value)} · ${t("dash.n_calls", {n: r.n})}`, color: r.value >= 80 ? "var(--ok)" : r.value >= 60 ? "var(--warn)" : "var(--bad)",
      href: r.label !== "–" && (key !== "team" || QA.user.role !== "agent") ? callsUrl({...weekQuery, [key]: r.label}) : null}));
    barChart($("#by-team"), scoreBars(groupAverage(week, "team"), "team"), {max: 100});
    barChart($("#by-agent"), scoreBars(groupAverage(week, "agent"), "agent"), {max: 100});
    $("#recent").innerHTML = table(callColumns(QA.user.role !== "agent"), calls.slice(0, 8), t("calls.none"));
  } catch (err) { failure($("#recent"), err); }
  try {
    const open = await api("/reviews?state=open&kind=dispute&limit=1");
    $("#kpi-disputes").textContent = open.total;
  } catch (err) { $("#kpi-disputes").textContent = "–"; }
  try {
    let rows;
    const titles = await ruleTitles();
    const failedHref = (rule) => callsUrl({failed_rule: rule, from: monday});
    if (QA.user.role === "agent") {
      const card = await api(`/scorecards/agents/${encodeURIComponent(QA.user.name)}?period=week&from=${monday}`);
      rows = card.total.rules.filter((r) => r.failed).sort((a, b) => b.failed - a.failed).map((r) => ({label: titles[r.rule_id] || r.rule_id, title: r.rule_id, value: r.failed, href: failedHref(r.rule_id)}));
    } else {
      const weekly = await api("/analysis/weekly");
      rows = weekly.problems.map((p) => ({label: titles[p.rule_id] || p.summary || p.rule_id, title: p.rule_id, value: p.failures, text: `${p.failures} · ${Math.round(p.share_of_calls * 100)}%`, href: failedHref(p.rule_id)}));
    }
    barChart($("#failed-rules"), rows.slice(0, 8), {color: "var(--bad)"});
  } catch (err) { failure($("#failed-rules"), err); }
};

pages.calls = async () => {
  const form = $("#filters"); let offset = 0; const limit = 20;
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) {
    const input = form.elements.namedItem(k); if (!input) continue;
    const value = k === "grade" ? gradeId(v) : k === "category" ? categoryId(v) : v;
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === value)) input.add(new Option(k === "grade" ? gradeLabel(value, v) : k === "category" ? categoryLabel(value, v) : value, value));
    input.value = value;
  }
  offset = Number(params.get("offset") || 0);
  async function load() {
    const query = {};
    for (const el of form.elements) if (el.name && el.value) query[el.name] = el.value;
    history.replaceState(null, "", `?${new URLSearchParams({...query, ...(offset ? {offset} : {})})}`);
    const box = $("#calls-table"); box.setAttribute("aria-busy", "true");
    try {
      const data = await api(`/calls?${new URLSearchParams({...query, limit, offset})}`);
      box.innerHTML = table(callColumns(QA.user.role !== "agent"), data.items, t("calls.none"));
      $("#calls-total").textContent = t("calls.total", {n: data.total});
      const pages = Math.max(1, Math.ceil(data.total / limit));
      $("#page-info").textContent = t("calls.page", {page: Math.floor(offset / limit) + 1, pages});
      $("#prev").disabled = offset === 0; $("#next").disabled = offset + limit >= data.total;
    } catch (err) { failure(box, err); }
    box.removeAttribute("aria-busy");
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
  form.addEventListener("reset", () => setTimeout(() => { offset = 0; load(); }));
  $("#prev").addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
  $("#next").addEventListener("click", () => { offset += limit; load(); });
  load();
  const toggle = $("#upload-toggle");
  toggle.addEventListener("click", () => { const box = $("#upload"); box.classList.toggle("hidden"); toggle.setAttribute("aria-expanded", String(!box.classList.contains("hidden"))); if (!box.classList.contains("hidden")) $("#up-file").focus(); });
  $("#upload-form").addEventListener("submit", (e) => { e.preventDefault(); upload(e.target, load); });
};

/* A transcript (a .json file) goes as the API's JSON body and is scored at once; a recording as a form, queued. */
const isTranscript = (file) => file.type === "application/json" || /\.json$/i.test(file.name);

function recordingForm(form) {
  const data = new FormData();
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "file") { if (el.files[0]) data.append("file", el.files[0]); }
    else if (el.name === "started_at" && el.value) data.append("started_at", new Date(el.value).toISOString());
    else if (el.value) data.append(el.name, el.value);
  }
  return data;
}

/* The transcript with what the user typed in the form (agent, call id, start) over its own values; its language
   unless it has none. Text that is not a JSON object is sent as it is: the API names the line and column. */
function transcriptBody(form, text) {
  let doc;
  try { doc = JSON.parse(text); } catch (_) { return text; }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return text;
  const value = (name) => form.elements[name]?.value || "";
  for (const name of ["agent", "call_id"]) if (value(name)) doc[name] = value(name);
  if (value("started_at")) doc.started_at = new Date(value("started_at")).toISOString();
  if (!doc.language && value("language") && value("language") !== "auto") doc.language = value("language");
  return JSON.stringify(doc);
}

function upload(form, done) {
  const file = form.elements.file.files[0], submit = $('button[type="submit"]', form);
  const box = $("#upload-progress"), bar = $("#upload-bar"), state = $("#upload-state");
  const fail = (message) => { state.textContent = `${t("common.error")}: ${message}`; box.classList.add("error"); submit.disabled = false; };
  box.classList.remove("hidden", "error"); bar.style.width = "0%"; state.textContent = t("upload.sending"); submit.disabled = true;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `${API}/calls`); xhr.setRequestHeader("X-CSRF-Token", csrf()); xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) { const pct = Math.round((100 * e.loaded) / e.total); bar.style.width = `${pct * 0.5}%`; state.textContent = t("upload.sending_pct", {pct}); } };
  xhr.onload = async () => {
    let body = {}; try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status >= 400) { fail(errorDetail(body) || xhr.statusText); return; }
    bar.style.width = "55%";
    try { await followScoring(body.id, bar, state); } catch (err) { fail(err.message); return; }
    submit.disabled = false; done();
  };
  xhr.onerror = () => fail(t("upload.cut_off"));
  if (!isTranscript(file)) { xhr.send(recordingForm(form)); return; }
  xhr.setRequestHeader("Content-Type", "application/json");
  file.text().then((text) => xhr.send(transcriptBody(form, text)), (err) => fail(err.message));
}

/* Poll the new call until it is scored (or failed); then a link to it with its score, or the failure. */
async function followScoring(id, bar, state) {
  const started = Date.now();
  for (;;) {
    const call = await api(`/calls/${id}`);
    state.innerHTML = `${statusBadge(call.status)} ${esc(t("upload.elapsed", {s: Math.round((Date.now() - started) / 1000)}))}`;
    if (call.status === "processing") bar.style.width = "75%";
    if (call.status === "done" || call.status === "failed") {
      bar.style.width = "100%";
      state.innerHTML = call.status === "done" ? `${statusBadge("done")} <a href="/ui/calls/${esc(call.id)}">${esc(t("upload.open_call"))}</a> · ${fmtScore(call.score)} ${callGrade(call)}` : `${statusBadge("failed")} ${esc(call.error || "")}`;
      return;
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
}

pages.call = async () => {
  const id = document.body.dataset.call;
  let call;
  try { call = await api(`/calls/${encodeURIComponent(id)}`); } catch (err) { failure($("#call-status"), err); return; }
  $("#call-title").textContent = `${t("call.title")} ${isolate(call.call_id)}`;
  document.title = `${call.call_id} · ${document.title}`;
  $("#call-meta").innerHTML = [call.agent, call.team, fmtDate(call.started_at || call.created_at), call.duration ? fmtTime(call.duration) : null,
    call.category ? categoryLabel(call.category_id || call.category, call.category) : null, call.report?.priority]
    .filter(Boolean).map(esc).join(" · ");
  renderScore(call);
  const player = $("#player");
  const noAudio = call.audio_deleted_at ? t("call.audio_deleted") : t("call.no_audio");
  if (call.audio_url) { player.src = call.audio_url; player.classList.remove("hidden"); } else { $("#no-audio").textContent = noAudio; $("#no-audio").classList.remove("hidden"); }
  if (call.status !== "done") {
    $("#call-status").innerHTML = `<p class="alert info">${statusBadge(call.status)} ${esc(call.error || t("call.pending"))}</p>`;
    if (call.status !== "failed") setTimeout(() => location.reload(), 3000);
    return;
  }
  const report = call.report;
  const duration = call.duration || report.duration || Math.max(1, ...report.utterances.map((u) => u.end));
  const seek = (start) => {
    highlight(start);
    if (!call.audio_url) { toast(noAudio, "warn"); return; }
    const go = () => { player.currentTime = Number(start); player.play().catch(() => {}); };
    if (player.readyState >= 1) go(); else { player.addEventListener("loadedmetadata", go, {once: true}); player.load(); }
  };
  renderTimeline(report, duration, seek);
  renderTranscript(report, seek);
  const [reviews, titles] = await Promise.all([api(`/calls/${encodeURIComponent(id)}/reviews`), ruleTitles(call.pack)]);
  renderFindings(call, reviews, seek, titles);
  renderHistory(call, reviews, titles);
  player.addEventListener("timeupdate", () => {
    const cursor = $("#cursor"); if (cursor) cursor.style.left = `${Math.min(100, (100 * player.currentTime) / duration)}%`;
    highlight(player.currentTime);
  });
  playerKeys(player, seek, duration);
  // feature scripts of the call page (forms, coaching, analytics) hook in here
  document.dispatchEvent(new CustomEvent("qa:call", {detail: {call, reviews, seek, player, duration}}));
};

/* Space plays/pauses, ←/→ jump 5 s; never while typing or on a control that Space already works. */
function playerKeys(player, seek, duration) {
  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || player.classList.contains("hidden")) return;
    const el = e.target;
    if (el.closest?.("input, textarea, select, button, a, summary, audio, [contenteditable=''], [contenteditable=true]")) return;
    if (e.key === " " || e.code === "Space") { e.preventDefault(); if (player.paused) player.play().catch(() => {}); else player.pause(); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault(); seek(Math.max(0, Math.min(duration, player.currentTime + (e.key === "ArrowLeft" ? -5 : 5))));
    }
  });
}

function renderScore(call) {
  // the engine's score beside the score after review: only when a human decision changed it
  const autoScore = call.auto_score ?? call.report?.auto_score;
  const auto = autoScore !== null && autoScore !== undefined && autoScore !== call.score ? `<span class="muted small auto-score">${esc(t("call.auto_score", {score: fmtScore(autoScore)}))}</span>` : "";
  $("#scorebox").innerHTML = `<div class="score-ring ${gradeClass(call.grade_id || call.grade)}"><span class="score" id="score-value">${fmtScore(call.score)}</span><span class="small">${esc(t("field.score"))}</span></div><div>${callGrade(call)}<br>${auto}</div>`;
}

/* Mark the utterance at ``time``; scroll the transcript box (never the page) to keep it in view. */
function highlight(time) {
  const utts = [...document.querySelectorAll(".utt")];
  const utt = utts.find((el) => Number(el.dataset.start) <= time + 0.01 && time < Number(el.dataset.end));
  const current = document.querySelector(".utt.playing");
  if (utt === current) return;
  if (current) current.classList.remove("playing");
  if (!utt) return;
  utt.classList.add("playing");
  const box = $("#transcript");
  const top = utt.offsetTop - box.offsetTop;
  if (top < box.scrollTop || top + utt.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
}

/* Spans where agent and customer speak at once: the report's acoustic overtalk when present, else overlapping
   utterance times (rounded; overlaps under 0.2 s are timing noise). */
function overtalkSpans(report) {
  const measured = report.analytics?.acoustics?.overtalk;
  if (Array.isArray(measured)) return measured.filter((o) => Number.isFinite(o.start) && Number.isFinite(o.end));
  const agent = report.utterances.filter((u) => u.role === "agent"), other = report.utterances.filter((u) => u.role === "customer");
  const spans = [];
  for (const a of agent) for (const c of other) {
    const start = Math.max(a.start, c.start), end = Math.min(a.end, c.end);
    if (end - start >= 0.2) spans.push({start, end, started_by: a.start <= c.start ? "agent" : "customer"});
  }
  return spans.sort((x, y) => x.start - y.start);
}

function renderTimeline(report, duration, seek) {
  const pct = (s) => `${Math.min(100, (100 * s) / duration)}%`;
  const isRole = (role, u) => (role === "agent" ? u.role === "agent" : u.role !== "agent");
  // spoken identifiers silenced in the audio (report.redactions): marked on the speaker's lane
  const redactedIn = (role) => (report.redactions || []).filter((r) => report.utterances.some((u) => isRole(role, u)
    && (r.channel == null || u.channel === r.channel) && u.start <= r.end && r.start <= u.end));
  const lane = (role) => report.utterances.filter((u) => isRole(role, u))
    .map((u) => `<span class="seg ${esc(u.role)}" data-style="left:${pct(u.start)};width:${pct(u.end - u.start)}" title="${esc(fmtTime(u.start))} ${esc(u.text)}"></span>`).join("")
    + redactedIn(role).map((r) => `<span class="seg redacted" data-style="left:${pct(r.start)};width:${pct(Math.max(r.end - r.start, 0.1))}" title="${esc(t("call.redacted", {kind: r.kind, time: fmtTime(r.start)}))}"></span>`).join("");
  const overtalk = overtalkSpans(report).map((o) => `<span class="seg overtalk" data-style="left:${pct(o.start)};width:${pct(Math.max(o.end - o.start, 0.1))}" title="${esc(t("call.overtalk_at", {time: fmtTime(o.start), s: (o.end - o.start).toFixed(1)}))}"></span>`).join("");
  const markers = report.findings.filter((f) => f.status === "fail" && f.evidence?.length)
    .map((f) => `<button type="button" class="marker" data-style="left:${pct(f.evidence[0].start)}" data-start="${f.evidence[0].start}" aria-label="${esc(t("call.marker_label", {rule: f.rule_id, time: fmtTime(f.evidence[0].start)}))}" title="${esc(f.rule_id)}"></button>`).join("");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((x) => `<span class="tick" data-style="left:${x * 100}%">${fmtTime(x * duration)}</span>`).join("");
  $("#timeline").innerHTML = `<div class="lane"><span class="lane-label">${esc(t("role.speaker.agent"))}</span><div class="track seekable">${lane("agent")}</div></div>
    <div class="lane"><span class="lane-label">${esc(t("role.speaker.customer"))}</span><div class="track seekable">${lane("customer")}</div></div>
    <div class="lane"><span class="lane-label">${esc(t("call.overtalk"))}</span><div class="track seekable overtalk-track">${overtalk}</div></div>
    <div class="lane markers"><span class="lane-label">${esc(t("call.findings"))}</span><div class="track seekable">${markers}<span id="cursor" class="cursor"></span></div></div><div class="ticks">${ticks}</div>`;
  applyStyles($("#timeline"));
  $("#timeline").addEventListener("click", (e) => {
    const m = e.target.closest(".marker"); if (m) { seek(Number(m.dataset.start)); return; }
    const track = e.target.closest(".track"); if (!track) return;  // a click on a lane seeks to that moment
    const box = track.getBoundingClientRect();
    seek(Math.max(0, Math.min(1, (e.clientX - box.left) / box.width)) * duration);
  });
  $("#player-keys").hidden = false;
}

function renderTranscript(report, seek) {
  $("#transcript").innerHTML = report.utterances.map((u) => `<div class="utt ${esc(u.role)}" data-start="${u.start}" data-end="${u.end}">
    <button type="button" class="utt-time" data-start="${u.start}" aria-label="${esc(t("call.play_from", {time: fmtTime(u.start)}))}">${fmtTime(u.start)}</button>
    <span class="utt-role">${esc(t("role.speaker." + u.role))}</span><p class="utt-text">${esc(u.text)}</p></div>`).join("") || empty(t("common.no_data"));
  $("#transcript").addEventListener("click", (e) => { const b = e.target.closest(".utt-time"); if (b) seek(Number(b.dataset.start)); });
}

/* A review can change the score only where the rule weighs in it and applies to the call. */
const reviewable = (f) => f.weight > 0 && f.status !== "not_applicable" && (f.auto_status ?? f.status) !== "not_applicable";

function renderFindings(call, reviews, seek, titles = {}) {
  const order = {fail: 0, pass: 1, not_applicable: 2};
  const findings = [...call.report.findings].sort((a, b) => (b.weight > 0) - (a.weight > 0) || order[a.status] - order[b.status]);
  const openDispute = (rule) => reviews.find((r) => r.rule_id === rule && r.kind === "dispute" && r.state === "open");
  // the review that decided a finding: the newest applied override or accepted dispute
  const decision = (rule) => reviews.filter((r) => r.rule_id === rule && (r.state === "applied" || r.state === "accepted"))
    .sort((a, b) => String(b.resolved_at || b.created_at).localeCompare(String(a.resolved_at || a.created_at)))[0];
  const role = QA.user.role;
  $("#findings").innerHTML = findings.map((f) => {
    const evidence = (f.evidence || []).map((ev) => `<li><button type="button" class="evidence" data-start="${ev.start}" data-rule="${esc(f.rule_id)}">
      <span class="ev-time">▶ ${fmtTime(ev.start)}</span> <span class="ev-text">${esc(ev.text)}</span></button></li>`).join("");
    const dispute = openDispute(f.rule_id);
    let actions = "";
    if ((role === "supervisor" || role === "admin") && reviewable(f)) {
      actions = `<details class="action"><summary>${esc(t("review.override"))}</summary><form class="override-form stack" data-rule="${esc(f.rule_id)}">
        <fieldset><legend>${esc(t("review.new_status"))}</legend><label><input type="radio" name="status" value="pass" ${f.status === "fail" ? "checked" : ""}> ${esc(t("finding.pass"))}</label> <label><input type="radio" name="status" value="fail" ${f.status === "pass" ? "checked" : ""}> ${esc(t("finding.fail"))}</label></fieldset>
        <label for="ov-${esc(f.rule_id)}">${esc(t("review.comment"))}</label><textarea id="ov-${esc(f.rule_id)}" name="comment" required rows="2"></textarea>
        <div><button class="primary" type="submit">${esc(t("review.override_submit"))}</button></div></form></details>`;
    } else if (role === "agent" && call.agent === QA.user.name && reviewable(f)) {
      actions = dispute ? `<p class="small muted">${esc(t("review.dispute_open"))}</p>` : `<details class="action"><summary>${esc(t("review.dispute"))}</summary><form class="dispute-form stack" data-rule="${esc(f.rule_id)}">
        <label for="dp-${esc(f.rule_id)}">${esc(t("review.dispute_reason"))}</label><textarea id="dp-${esc(f.rule_id)}" name="comment" required rows="2"></textarea>
        <div><button class="primary" type="submit">${esc(t("review.dispute_submit"))}</button></div></form></details>`;
    }
    // a human decision: the verdict now, with the engine's own verdict and explanation beside it
    const human = Boolean(f.reviewed);
    const decided = human ? decision(f.rule_id) : null;
    const body = human
      ? `${decided ? `<p class="human-note">${esc(t("finding.human_by", {name: decided.resolved_by || decided.author}))}: ${esc(decided.kind === "dispute" ? decided.resolution_comment || decided.comment : decided.comment)}</p>` : ""}
        <div class="engine-verdict"><span class="small muted">${esc(t("finding.engine_verdict"))}</span> <span class="badge fs-${esc(f.auto_status ?? f.status)}">${esc(t("finding." + (f.auto_status ?? f.status)))}</span><p class="explanation">${esc(f.explanation)}</p></div>`
      : `<p class="explanation">${esc(f.explanation)}</p>`;
    const title = titles[f.rule_id] || f.rule_id;
    return `<article class="finding f-${esc(f.status)}${human ? " reviewed" : ""}" id="finding-${esc(f.rule_id)}">
      <header><span class="badge fs-${esc(f.status)}">${esc(t("finding." + f.status))}</span>${human ? ` <span class="badge human">${esc(t("finding.human"))}</span>` : ""} <h3>${esc(title)}</h3>
      ${title !== f.rule_id ? `<code class="rule-id small muted">${esc(f.rule_id)}</code>` : ""}
      <span class="muted small">${esc(t("severity." + f.severity))} · ${esc(t("finding.weight", {w: f.weight}))}</span>${dispute ? ` <span class="badge st-queued">${esc(t("review.disputed"))}</span>` : ""}</header>
      ${body}${evidence ? `<ul class="evidence-list" aria-label="${esc(t("call.evidence"))}">${evidence}</ul>` : ""}${actions}</article>`;
  }).join("");
  const box = $("#findings");
  box.addEventListener("click", (e) => { const b = e.target.closest(".evidence"); if (b) seek(Number(b.dataset.start)); });
  box.addEventListener("submit", async (e) => {
    e.preventDefault(); const form = e.target; const rule = form.dataset.rule;
    const comment = form.elements.comment.value.trim();
    const isOverride = form.classList.contains("override-form");
    const json = isOverride ? {status: form.elements.status.value, comment} : {comment};
    try {
      await api(`/calls/${encodeURIComponent(call.id)}/findings/${encodeURIComponent(rule)}/${isOverride ? "override" : "dispute"}`, {method: "POST", json});
      toast(t(isOverride ? "review.override_done" : "review.dispute_done")); setTimeout(() => location.reload(), 600);
    } catch (err) { toast(`${t("common.error")}: ${err.message}`, "bad"); }
  });
}

function renderHistory(call, reviews, titles = {}) {
  const role = QA.user.role;
  const box = $("#history");
  box.innerHTML = reviews.length ? `<ol class="history">${reviews.map((r) => {
    const decide = r.kind === "dispute" && r.state === "open" && (role === "supervisor" || role === "admin")
      ? `<form class="decide stack" data-review="${r.id}"><label for="rc-${r.id}">${esc(t("review.resolution"))}</label><textarea id="rc-${r.id}" name="comment" rows="2"></textarea>
        <div class="row-buttons"><button class="primary" type="submit" name="decision" value="accept">${esc(t("review.accept"))}</button><button class="ghost danger" type="submit" name="decision" value="reject">${esc(t("review.reject"))}</button></div></form>` : "";
    return `<li class="review r-${esc(r.state)}"><div><span class="badge st-${r.state === "open" ? "queued" : r.state === "rejected" ? "failed" : "done"}">${esc(t("review.kind." + r.kind))} · ${esc(t("review.state." + r.state))}</span>
      <strong title="${esc(r.rule_id)}">${esc(titles[r.rule_id] || r.rule_id)}</strong> → ${esc(t("finding." + r.requested_status))} <span class="muted small">${esc(r.author)} · ${esc(fmtDate(r.created_at))}</span></div>
      <p>${esc(r.comment)}</p>${r.resolved_by && r.kind === "dispute" ? `<p class="small muted">${esc(t("review.resolved_by", {name: r.resolved_by}))}${r.resolution_comment ? `: ${esc(r.resolution_comment)}` : ""}</p>` : ""}${decide}</li>`;
  }).join("")}</ol>` : empty(t("review.none"));
  box.addEventListener("submit", async (e) => {
    e.preventDefault(); const form = e.target; const decision = e.submitter?.value || "accept";
    try {
      await api(`/reviews/${form.dataset.review}/${decision}`, {method: "POST", json: {comment: form.elements.comment.value.trim() || null}});
      toast(t(decision === "accept" ? "review.accepted" : "review.rejected")); setTimeout(() => location.reload(), 600);
    } catch (err) { toast(`${t("common.error")}: ${err.message}`, "bad"); }
  });
}

pages.me = async () => {
  const me = encodeURIComponent(QA.user.name);
  const titles = await ruleTitles();
  async function scorecard(period) {
    try {
      const card = await api(`/scorecards/agents/${me}?period=${period}`);
      $("#me-calls").textContent = card.total.calls; $("#me-avg").textContent = fmtScore(card.total.average_score);
      lineChart($("#me-trend"), card.trend.map((b) => ({label: b.period, value: b.average_score, text: `${fmtScore(b.average_score)} (${b.calls})`})), {label: t("me.trend")});
      barChart($("#me-rules"), card.total.rules.filter((r) => r.pass_rate !== null).sort((a, b) => a.pass_rate - b.pass_rate)
        .map((r) => ({label: titles[r.rule_id] || r.rule_id, title: r.rule_id, value: Math.round(r.pass_rate * 100), text: `${Math.round(r.pass_rate * 100)}%`, color: r.pass_rate >= 0.8 ? "var(--ok)" : r.pass_rate >= 0.6 ? "var(--warn)" : "var(--bad)"})), {max: 100});
    } catch (err) { if (err.status === 404) { $("#me-calls").textContent = "0"; lineChart($("#me-trend"), []); barChart($("#me-rules"), []); } else failure($("#me-trend"), err); }
  }
  document.querySelectorAll("[data-period]").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("[data-period]").forEach((x) => x.setAttribute("aria-pressed", String(x === b))); scorecard(b.dataset.period);
  }));
  scorecard("week");
  try {
    const open = await api("/reviews?state=open&kind=dispute&limit=200");
    $("#me-disputes").textContent = open.total;
    $("#me-dispute-list").innerHTML = table([
      {label: t("review.rule"), html: (r) => `<a href="/ui/calls/${esc(r.call)}#finding-${esc(r.rule_id)}">${esc(titles[r.rule_id] || r.rule_id)}</a>`},
      {label: t("review.requested"), html: (r) => esc(t("finding." + r.requested_status))},
      {label: t("review.comment"), html: (r) => esc(r.comment)},
      {label: t("review.opened"), html: (r) => esc(fmtDate(r.created_at))}], open.items, t("me.no_disputes"));
  } catch (err) { failure($("#me-dispute-list"), err); }
  try {
    const mine = await api(`/calls?agent=${me}&limit=20`);
    $("#me-call-list").innerHTML = table(callColumns(false), mine.items, t("calls.none"));
  } catch (err) { failure($("#me-call-list"), err); }
};

pages.packs = async () => {
  const teams = QA.user.teams || [];
  try {
    const rows = await Promise.all(teams.map((team) => api(`/teams/${encodeURIComponent(team)}/pack`)));
    $("#team-packs").innerHTML = table([{label: t("field.team"), html: (r) => esc(r.team)},
      {label: t("packs.active"), html: (r) => (r.pack_id ? `<button type="button" class="link show-pack" data-pack="${esc(r.pack_id)}">${esc(r.pack_id)}</button> ${esc(r.version || t("packs.latest"))}` : esc(t("packs.default")))},
      {label: t("packs.set_by"), html: (r) => esc(r.set_by || "–")}], rows, t("packs.no_teams"));
  } catch (err) { failure($("#team-packs"), err); }
  let list;
  try { list = await api("/packs"); } catch (err) { failure($("#pack-list"), err); return; }
  $("#pack-list").innerHTML = `<ul class="pack-list">${list.items.map((p) => `<li><button type="button" class="show-pack pack-item" data-pack="${esc(p.id)}"><strong>${esc(p.id)}</strong>
    <span class="muted small">v${esc(p.latest)} · ${esc(p.language)} · ${esc(t("packs.versions", {n: p.versions.length}))}</span></button></li>`).join("")}</ul>`;
  async function show(id) {
    document.querySelectorAll(".pack-item").forEach((b) => b.classList.toggle("active", b.dataset.pack === id));
    try {
      const pack = await api(`/packs/${encodeURIComponent(id)}`);
      const docs = await api(`/packs/${encodeURIComponent(id)}/docs`);
      $("#pack-doc-title").textContent = `${isolate(pack.name || pack.id)} · v${pack.version}`;
      const sections = splitDocs(docs);
      $("#pack-rules").innerHTML = `<p class="muted">${esc(pack.description || "")}</p><p>${Object.entries(pack.grades).map(([g, s]) => `${gradeBadge(g, g)} ≥ ${s}`).join(" ")}</p>` +
        pack.rules.map((r) => `<details class="rule"><summary><code>${esc(r.id)}</code> ${esc(r.summary || "")} <span class="muted small">${esc(t("severity." + (r.severity || "major")))} · ${esc(t("finding.weight", {w: r.weight ?? 0}))}</span></summary>
        <div class="rule-doc">${markdown(sections[r.id] || "")}</div></details>`).join("");
    } catch (err) { failure($("#pack-rules"), err); }
  }
  document.addEventListener("click", (e) => { const b = e.target.closest(".show-pack"); if (b) show(b.dataset.pack); });
  // the pack in the UI language opens first (zh-CN for a Chinese supervisor)
  const first = list.items.find((p) => p.id === DEFAULT_PACKS[QA.lang]) || list.items.find(uiLanguagePack) || list.items[0];
  if (first) show(first.id);
  const upload = $("#pack-upload");
  if (upload) upload.addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("#pack-upload-error");
    error.classList.add("hidden");
    try {
      const res = await api("/packs", {method: "POST", body: $("#pack-yaml").value, headers: {"Content-Type": "application/yaml"}});
      toast(t("packs.uploaded", {id: res.id, version: res.version})); setTimeout(() => location.reload(), 800);
    } catch (err) { error.textContent = `${t("packs.refused")}: ${err.message}`; error.classList.remove("hidden"); }  // by the YAML, not in a toast
  });
};

function splitDocs(md) {
  const out = {}; let current = null;
  for (const line of md.split("\n")) {
    const m = line.match(/^#{2,3}\s+`?([\w.-]+)`?/);
    if (m) { current = m[1]; out[current] = ""; continue; }
    if (current) out[current] += line + "\n";
  }
  return out;
}

function markdown(md) {
  const inline = (s) => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>").replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  let html = "", inList = false;
  for (const raw of md.split("\n")) {
    const line = raw.trimEnd();
    if (/^\s*[-*]\s+/.test(line)) { if (!inList) { html += "<ul>"; inList = true; } html += `<li>${inline(line.replace(/^\s*[-*]\s+/, ""))}</li>`; continue; }
    if (inList) { html += "</ul>"; inList = false; }
    if (line.startsWith("#")) html += `<h4>${inline(line.replace(/^#+\s*/, ""))}</h4>`;
    else if (line) html += `<p>${inline(line)}</p>`;
  }
  return html + (inList ? "</ul>" : "");
}

pages.analysis = async () => {
  const form = $("#an-form");
  async function load() {
    const query = {}; if (form.elements.week.value) query.week = form.elements.week.value; if (form.elements.team.value) query.team = form.elements.team.value;
    const qs = new URLSearchParams(query);
    const titles = await ruleTitles();
    $("#an-csv").href = `${API}/analysis/weekly?${new URLSearchParams({...query, format: "csv"})}`;
    try {
      const w = await api(`/analysis/weekly?${qs}`);
      if (!form.elements.week.value) form.elements.week.value = w.week;
      $("#an-range").textContent = t("an.range", {week: w.week, start: w.start, end: w.end});
      $("#an-calls").textContent = w.calls; $("#an-calls-prev").textContent = t("an.prev", {value: w.previous.calls});
      $("#an-avg").textContent = fmtScore(w.average_score); $("#an-avg-prev").textContent = t("an.prev", {value: fmtScore(w.previous.average_score)});
      const aht = (s) => (s === null || s === undefined ? "–" : fmtTime(s));
      $("#an-aht").textContent = aht(w.average_handle_time_s); $("#an-aht-prev").textContent = t("an.prev", {value: aht(w.previous.average_handle_time_s)});
      $("#an-complaints").textContent = `${Math.round(w.hotspots.complaint_share * 100)}%`;
      $("#an-apology").textContent = t("an.apology", {missed: w.hotspots.apology_missed, n: w.hotspots.apology_applicable});
      // every chart opens the week's calls behind it
      const week = {from: w.start, to: w.end, status: "done", team: query.team};
      barChart($("#an-problems"), w.problems.slice(0, 10).map((p) => ({label: titles[p.rule_id] || p.summary || p.rule_id, title: p.rule_id, value: p.failures, text: `${p.failures} (${t("an.before", {n: p.previous_failures})})`, href: callsUrl({...week, failed_rule: p.rule_id})})), {color: "var(--bad)"});
      donut($("#an-categories"), w.categories.map((c) => ({label: c.label === "unclassified" ? t("category.unclassified") : categoryLabel(c.label), value: c.calls, href: c.label === "unclassified" ? null : callsUrl({...week, category: c.label})})));
      barChart($("#an-agents"), w.hotspots.lowest_agents.map((g) => ({label: g.name, value: g.average_score ?? 0, text: `${fmtScore(g.average_score)} · ${t("dash.n_calls", {n: g.calls})}`, color: (g.average_score ?? 0) >= 80 ? "var(--ok)" : (g.average_score ?? 0) >= 60 ? "var(--warn)" : "var(--bad)", href: callsUrl({...week, agent: g.name})})), {max: 100});
      donut($("#an-grades"), gradeRows(w.grades, week));
    } catch (err) { failure($("#an-problems"), err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
};

/* The language switch keeps the page's filters: its ?lang= is merged into the current query string at click time
   (pages rewrite their query string as filters change). */
document.addEventListener("click", (e) => {
  const link = e.target.closest("a.lang"); if (!link) return;
  const lang = new URL(link.href, location.href).searchParams.get("lang"); if (!lang) return;
  const params = new URLSearchParams(location.search); params.set("lang", lang);
  link.href = `${location.pathname}?${params}${location.hash}`;
});
document.addEventListener("DOMContentLoaded", () => { const page = pages[document.body.dataset.page]; if (page) page(); });
// shared helpers for the feature scripts loaded after this one (each may add pages[name] before DOMContentLoaded)
window.qaUi = {api, t, esc, escValue, isolate, csrf, toast, table, empty, failure, applyStyles, fmtScore, fmtTime, fmtDate, centreMonday,
  gradeBadge, callGrade, callColumns, statusBadge, barChart, lineChart, donut, fetchCalls, pages, ApiError};
})();
