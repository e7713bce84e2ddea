/* The supervisor inbox: the review queue (filters, assign to me, start, done) and the sampling plans (抽检). */
"use strict";
(() => {
const ui = window.qaUi;
const {api, t, esc, isolate, toast, table, failure, fmtScore, fmtDate, callGrade} = ui;
const $ = (sel, root = document) => root.querySelector(sel);
const me = () => (window.QA && window.QA.user ? window.QA.user.name : "");

const reasons = (item) => `<span class="inbox-reasons">${item.reasons.map((r) => `<span class="inbox-reason r-${esc(r)}">${esc(t("inbox.reason." + r))}</span>`).join("")}</span>`;
const stateBadge = (s) => `<span class="inbox-state s-${esc(s)}">${esc(t("inbox.state." + s))}</span>`;

function actions(item) {
  const buttons = [];
  const button = (action, label, cls = "ghost") => buttons.push(`<button type="button" class="${cls}" data-action="${action}" data-call="${esc(item.id)}">${esc(label)}</button>`);
  if (item.state !== "done" && item.assigned_to !== me()) button("assign", t("inbox.assign_me"));
  if (item.state === "open") button("in_review", t("inbox.start"), "primary");
  if (item.state === "in_review") button("done", t("inbox.done"), "primary");
  if (item.state === "done") button("open", t("inbox.reopen"));
  return `<span class="inbox-actions">${buttons.join("")}</span>`;
}

const columns = () => [
  {label: t("field.call_id"), html: (i) => `<a href="/ui/calls/${esc(i.id)}" class="call-link">${esc(i.call_id)}</a>`},
  {label: t("field.agent"), html: (i) => esc(i.agent)},
  {label: t("field.team"), html: (i) => esc(i.team || "–")},
  {label: t("inbox.reason"), html: reasons},
  {label: t("field.score"), html: (i) => `<strong>${fmtScore(i.score)}</strong> ${callGrade(i)}`, cls: "num"},
  {label: t("inbox.assignee"), html: (i) => esc(i.assigned_to || "–")},
  {label: t("inbox.state"), html: (i) => stateBadge(i.state)},
  {label: t("inbox.since"), html: (i) => esc(fmtDate(i.created_at))},
  {label: t("inbox.actions"), html: actions},
];

async function loadQueue() {
  const form = $("#inbox-filters"), box = $("#inbox-table");
  const query = new URLSearchParams({limit: "200"});
  for (const [k, v] of new FormData(form)) if (v) query.set(k, v);
  history.replaceState(null, "", `?${new URLSearchParams([...query].filter(([k]) => k !== "limit"))}`);
  try {
    const data = await api(`/review-queue?${query}`);
    $("#inbox-total").textContent = t("inbox.total", {n: data.total});
    box.innerHTML = table(columns(), data.items, t("inbox.empty"));
  } catch (err) { failure(box, err); }
}

async function act(button) {
  const call = button.dataset.call, action = button.dataset.action;
  button.disabled = true;
  try {
    if (action === "assign") await api(`/review-queue/${encodeURIComponent(call)}/assign`, {method: "POST", json: {reviewer: me()}});
    else await api(`/review-queue/${encodeURIComponent(call)}/state`, {method: "POST", json: {state: action}});
    toast(t("inbox.saved"));
  } catch (err) { toast(err.message, "bad"); }
  await loadQueue();
}

function describePlan(p) {
  const parts = [];
  if (p.include && p.include.category) parts.push(`${t("field.category")}: ${isolate(p.include.category)}`);
  if (p.include && p.include.grade) parts.push(`${t("field.grade")}: ${isolate(p.include.grade)}`);
  if (p.include && p.include.max_score !== null && p.include.max_score !== undefined) parts.push(`${t("inbox.max_score")}: ${p.include.max_score}`);
  return parts.join(" · ") || t("inbox.all_calls");
}

async function loadPlans() {
  const box = $("#inbox-plans");
  try {
    const plans = await api("/sampling-plans");
    box.innerHTML = table([
      {label: t("field.team"), html: (p) => esc(p.team)},
      {label: t("inbox.percent"), html: (p) => `${esc(p.percent)}%`, cls: "num"},
      {label: t("inbox.per_agent_min"), html: (p) => esc(p.per_agent_min), cls: "num"},
      {label: t("inbox.include"), html: (p) => esc(describePlan(p))},
      {label: t("inbox.drawn"), html: (p) => esc(t("inbox.drawn_of", {selected: p.selected, drawn: p.drawn})), cls: "num"},
      {label: t("inbox.created"), html: (p) => `${esc(p.created_by)} · ${esc(fmtDate(p.created_at))}`},
      {label: t("inbox.actions"), html: (p) => `<button type="button" class="danger" data-plan="${esc(p.id)}">${esc(t("inbox.plan_delete"))}</button>`},
    ], plans, t("inbox.no_plans"));
  } catch (err) { failure(box, err); }
}

async function createPlan(form) {
  const data = new FormData(form);
  const include = {};
  for (const key of ["category", "grade"]) { const v = String(data.get(key) || "").trim(); if (v) include[key] = v; }
  const max = String(data.get("max_score") || "").trim();
  if (max) include.max_score = Number(max);
  const body = {team: data.get("team"), percent: Number(data.get("percent") || 0), per_agent_min: Number(data.get("per_agent_min") || 0)};
  if (Object.keys(include).length) body.include = include;
  try {
    const plan = await api("/sampling-plans", {method: "POST", json: body});
    toast(t("inbox.plan_created", {n: plan.backfilled}));
  } catch (err) { toast(err.message, "bad"); return; }
  await Promise.all([loadPlans(), loadQueue()]);
}

ui.pages.inbox = () => {
  const form = $("#inbox-filters");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) { const input = form.elements.namedItem(k); if (input) input.value = v; }
  form.addEventListener("submit", (e) => { e.preventDefault(); loadQueue(); });
  $("#inbox-table").addEventListener("click", (e) => { const b = e.target.closest("button[data-action]"); if (b) act(b); });
  $("#inbox-plan-form").addEventListener("submit", (e) => { e.preventDefault(); createPlan(e.target); });
  $("#inbox-plans").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-plan]");
    if (!b || !confirm(t("inbox.plan_delete_confirm"))) return;
    try { await api(`/sampling-plans/${encodeURIComponent(b.dataset.plan)}`, {method: "DELETE"}); toast(t("inbox.plan_deleted")); } catch (err) { toast(err.message, "bad"); }
    loadPlans();
  });
  loadQueue();
  loadPlans();
};
})();
