/* Calibration page: my pending calls (blind evaluation), sessions, results (Fleiss' κ, spread, AI vs human),
   new sessions, evaluation forms (admins: the table editor of form_editor.js, offered the forms listed here). */
"use strict";
(() => {
const ui = window.qaUi;
const {t, esc} = ui;
const $ = (sel) => document.querySelector(sel);
const num = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
const EXAMPLE = {team: "", name: "服务质量评估表", auto_weight: 0.5, items: [
  {id: "attitude", label: "服务态度", weight: 2, max: 5, allow_na: false, critical: false},
  {id: "accuracy", label: "业务准确性", weight: 3, max: 1, allow_na: true, critical: false},
  {id: "security", label: "信息安全（泄露客户信息为致命项）", weight: 1, max: 1, allow_na: false, critical: true}]};
let callLabels = {};

async function loadSessions() {
  let sessions;
  try { sessions = await ui.api("/calibration-sessions"); } catch (err) { ui.failure($("#cal-sessions"), err); return; }
  const answered = (s) => Object.values(s.progress).reduce((n, calls) => n + calls.length, 0);
  $("#cal-sessions").innerHTML = ui.table([
    {label: t("cal.name"), html: (s) => esc(s.name)},
    {label: t("cal.team"), html: (s) => esc(s.team)},
    {label: t("ev.reviewer"), html: (s) => s.reviewers.map(esc).join(", ")},
    {label: t("cal.state"), html: (s) => `<span class="badge ${s.state === "open" ? "g-b" : "g-n"}">${esc(t(`cal.${s.state}`))}</span>`},
    {label: t("cal.progress"), html: (s) => `${answered(s)} / ${s.calls.length * s.reviewers.length}`, cls: "num"},
    {label: "", html: (s) => (s.state === "open"
      ? `<button type="button" class="ghost cal-close" data-id="${s.id}">${esc(t("cal.close"))}</button>`
      : `<button type="button" class="ghost cal-show" data-id="${s.id}">${esc(t("cal.results"))}</button>`)},
  ], sessions, t("cal.none"));
  document.querySelectorAll(".cal-close").forEach((b) => b.addEventListener("click", async () => {
    b.disabled = true;
    try { await ui.api(`/calibration-sessions/${b.dataset.id}/close`, {method: "POST"}); ui.toast(t("cal.closed_ok")); await refresh(); await showResults(b.dataset.id); }
    catch (err) { ui.toast(err.message, "bad"); b.disabled = false; }
  }));
  document.querySelectorAll(".cal-show").forEach((b) => b.addEventListener("click", () => showResults(b.dataset.id)));
  renderPending(sessions.filter((s) => s.my_pending.length));
}

function renderPending(sessions) {
  const rows = sessions.flatMap((s) => s.my_pending.map((call) => ({s, call})));
  $("#cal-pending").innerHTML = ui.table([
    {label: t("cal.sessions"), html: (r) => esc(r.s.name)},
    {label: t("cal.calls"), html: (r) => `<a href="/ui/calls/${esc(r.call)}">${esc(callLabels[r.call] || r.call)}</a>`},
    {label: "", html: (r) => `<button type="button" class="primary cal-eval" data-session="${r.s.id}" data-form="${r.s.form}" data-call="${esc(r.call)}">${esc(t("cal.evaluate"))}</button>`},
  ], rows, t("common.no_data"));
  document.querySelectorAll(".cal-eval").forEach((b) => b.addEventListener("click", () => evaluate(b.dataset.session, b.dataset.form, b.dataset.call)));
}

async function evaluate(sessionId, formId, callId) {
  const box = $("#cal-eval-box");
  try {
    const [form, call] = await Promise.all([ui.api(`/evaluation-forms/${formId}`), ui.api(`/calls/${encodeURIComponent(callId)}`)]);
    box.innerHTML = `<h3>${esc(t("cal.evaluate"))}: <a href="/ui/calls/${esc(call.id)}">${esc(call.call_id)}</a> <span class="muted small">${esc(call.agent)}</span></h3><div></div>`;
    window.qaEval.renderForm(box.lastElementChild, form, {findings: call.report?.findings || [], onSubmit: async (body) => {
      delete body.form;
      await ui.api(`/calibration-sessions/${sessionId}/evaluations`, {method: "POST", json: {...body, call: callId}});
      ui.toast(t("ev.submitted")); box.innerHTML = ""; await loadSessions();
    }});
    box.scrollIntoView({block: "start"});
  } catch (err) { ui.failure(box, err); }
}

async function showResults(id) {
  const card = $("#cal-results-card"), box = $("#cal-results");
  card.classList.remove("hidden");
  let r;
  try { r = await ui.api(`/calibration-sessions/${id}/results`); } catch (err) { ui.failure(box, err); return; }
  $("#cal-results-title").textContent = `${t("cal.results")}: ${ui.isolate(r.session.name)}`;
  const agreementCols = [
    {label: t("cal.kappa"), html: (i) => `<strong class="kappa">${num(i.kappa)}</strong>`, cls: "num"},
    {label: t("cal.observed"), html: (i) => pct(i.observed), cls: "num"},
    {label: t("cal.unanimous"), html: (i) => pct(i.unanimous), cls: "num"},
    {label: t("cal.subjects"), html: (i) => String(i.subjects), cls: "num"},
  ];
  const reviewers = r.session.reviewers;
  box.innerHTML = `<p>${esc(t("cal.overall"))}: <span class="cal-kappa" id="cal-overall-kappa">${num(r.overall.kappa)}</span>
      <span class="muted">${esc(t("cal.observed"))} ${pct(r.overall.observed)}</span></p>
    <h3>${esc(t("cal.items"))}</h3>${ui.table([{label: t("ev.item"), html: (i) => esc(i.label)}, ...agreementCols], r.items)}
    <h3>${esc(t("cal.spread"))}</h3>${ui.table([
      {label: t("cal.calls"), html: (c) => `<a href="/ui/calls/${esc(c.call)}">${esc(callLabels[c.call] || c.call)}</a>`},
      {label: t("cal.auto"), html: (c) => ui.fmtScore(c.auto_score), cls: "num"},
      ...reviewers.map((name) => ({label: name, html: (c) => ui.fmtScore(c.scores[name]), cls: "num"})),
      {label: t("cal.min"), html: (c) => ui.fmtScore(c.min), cls: "num"}, {label: t("cal.max"), html: (c) => ui.fmtScore(c.max), cls: "num"},
      {label: t("cal.mean"), html: (c) => ui.fmtScore(c.mean), cls: "num"}, {label: t("cal.stdev"), html: (c) => num(c.stdev, 2), cls: "num"},
    ], r.calls)}
    <h3>${esc(t("cal.rules"))}</h3>${ui.table([
      {label: t("cal.rule"), html: (x) => esc(x.rule_id)},
      {label: t("cal.verdicts"), html: (x) => String(x.verdicts), cls: "num"},
      {label: t("cal.agreed"), html: (x) => String(x.agreed), cls: "num"},
      {label: t("cal.rate"), html: (x) => `<strong>${pct(x.rate)}</strong>`, cls: "num"},
    ], r.rules)}`;
  card.scrollIntoView({block: "start"});
}

async function loadForms() {
  let forms;
  try { forms = await ui.api("/evaluation-forms"); } catch (err) { ui.failure($("#cal-forms"), err); return; }
  window.qaFormEditor.offer(forms);
  $("#cal-forms").innerHTML = ui.table([
    {label: t("cal.team"), html: (f) => esc(f.team)},
    {label: t("cal.name"), html: (f) => `${esc(f.name)} ${f.current ? `<span class="badge g-a">${esc(t("cal.current"))}</span>` : ""}`},
    {label: t("cal.version"), html: (f) => String(f.version), cls: "num"},
    {label: t("cal.items"), html: (f) => f.items.map((i) => esc(i.label)).join("、")},
    {label: t("cal.auto_weight"), html: (f) => pct(f.auto_weight), cls: "num"},
  ], forms);
  const team = $("#cal-team").value;
  $("#cal-form").innerHTML = forms.filter((f) => f.team === team)
    .map((f) => `<option value="${f.id}">${esc(f.name)} v${f.version}${f.current ? ` (${esc(t("cal.current"))})` : ""}</option>`).join("");
}

async function loadCalls() {
  const team = $("#cal-team").value;
  if (!team) { $("#cal-calls").innerHTML = ui.empty(t("common.no_data")); return; }
  try {
    const data = await ui.api(`/calls?${new URLSearchParams({team, status: "done", limit: 50})}`);
    for (const c of data.items) callLabels[c.id] = c.call_id;
    $("#cal-calls").innerHTML = data.items.length ? data.items.map((c) => `<label><input type="checkbox" name="call" value="${esc(c.id)}"> ${esc(c.call_id)} · ${esc(c.agent)} · ${ui.fmtScore(c.score)}</label>`).join("") : ui.empty(t("common.no_data"));
  } catch (err) { ui.failure($("#cal-calls"), err); }
}

function setupNew() {
  const form = $("#cal-new");
  $("#cal-team").addEventListener("change", () => { loadForms(); loadCalls(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("#cal-new-error"); error.classList.add("hidden");
    const body = {name: form.elements.name.value.trim(), team: form.elements.team.value, form: Number(form.elements.form.value),
      calls: [...form.querySelectorAll("input[name=call]:checked")].map((c) => c.value),
      reviewers: form.elements.reviewers.value.split(/[,，\s]+/).filter(Boolean)};
    try { await ui.api("/calibration-sessions", {method: "POST", json: body}); ui.toast(t("cal.created")); form.querySelectorAll("input[name=call]").forEach((c) => { c.checked = false; }); await loadSessions(); }
    catch (err) { error.textContent = err.message; error.classList.remove("hidden"); }
  });
}

function setupEditor() {
  window.qaFormEditor.setup({...EXAMPLE, team: $("#cal-team").value || "team1"}, loadForms);
}

async function refresh() { await loadSessions(); }

ui.pages.calibration = async () => {
  setupNew(); setupEditor();
  await loadCalls();
  await Promise.all([loadForms(), loadSessions()]);
};
})();
