/* Agent drill-down (/ui/agents/{name}, supervisors and admins): one read of GET /api/v1/agents/{name}/overview
   drawn as KPIs, the score trend, the agent's pass rate per rule next to the team's, the pass rate per rule per
   period, recent calls and open disputes; the coaching history is coaching_history.js's (paged, as on /ui/me). */
"use strict";
(() => {
  const ui = window.qaUi;
  if (!ui) return;
  const {api, t, esc, table, failure, fmtScore, fmtDate, callColumns, lineChart} = ui;
  const $ = (sel) => document.querySelector(sel);
  const pct = (rate) => (rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)}%`);
  const rateBadge = (rate) => (rate === null || rate === undefined ? "–"
    : `<span class="badge ${rate >= 0.8 ? "g-a" : rate >= 0.6 ? "g-c" : "g-d"}">${pct(rate)}</span>`);
  const callLink = (c) => `<a class="call-link" href="/ui/calls/${encodeURIComponent(c.id)}">${esc(c.call_id)}</a>`;

  function rules(view) {
    const rows = view.rules.filter((r) => r.agent_applied || r.team_applied);
    $("#ag-rules").innerHTML = table([
      {label: t("agentpage.rule"), html: (r) => `<a href="/ui/calls?agent=${encodeURIComponent(view.agent)}&failed_rule=${encodeURIComponent(r.rule_id)}">${esc(r.rule_id)}</a>`},
      {label: t("agentpage.agent_rate"), html: (r) => rateBadge(r.agent_pass_rate), cls: "num"},
      {label: t("agentpage.team_rate"), html: (r) => pct(r.team_pass_rate), cls: "num"},
      {label: t("agentpage.diff"), cls: "num", html: (r) => (r.agent_pass_rate === null || r.team_pass_rate === null ? "–"
        : `${r.agent_pass_rate >= r.team_pass_rate ? "+" : "−"}${Math.abs(Math.round((r.agent_pass_rate - r.team_pass_rate) * 100))}`)},
    ], rows.sort((a, b) => (a.agent_pass_rate ?? 2) - (b.agent_pass_rate ?? 2)));
  }

  function ruleTrend(card) {
    const buckets = card.trend;
    const ids = card.total.rules.map((r) => r.rule_id);
    const rate = (bucket, id) => bucket.rules.find((r) => r.rule_id === id)?.pass_rate ?? null;
    $("#ag-rule-trend").innerHTML = table([
      {label: t("agentpage.rule"), html: (id) => esc(id)},
      ...buckets.map((b) => ({label: b.period, cls: "num", html: (id) => rateBadge(rate(b, id))})),
    ], buckets.length ? ids : []);
  }

  // the call list's columns: canonical category and grade in the UI language, like every other list
  const calls = (view) => { $("#ag-recent").innerHTML = table(callColumns(false), view.recent_calls, t("calls.none")); };

  function disputes(view) {
    $("#ag-disputes").innerHTML = table([
      {label: t("agentpage.call"), html: (d) => callLink(d.about)},
      {label: t("review.rule"), html: (d) => `<a href="/ui/calls/${encodeURIComponent(d.about.id)}#finding-${esc(d.rule_id)}">${esc(d.rule_id)}</a>`},
      {label: t("review.requested"), html: (d) => esc(t("finding." + d.requested_status))},
      {label: t("review.comment"), html: (d) => esc(d.comment)},
      {label: t("review.opened"), html: (d) => esc(fmtDate(d.created_at))},
    ], view.open_disputes, t("agentpage.no_disputes"));
  }

  ui.pages.agent = async () => {
    const name = document.body.dataset.agent;
    async function load(period) {
      let view;
      try { view = await api(`/agents/${encodeURIComponent(name)}/overview?period=${period}`); }
      catch (err) { failure($("#ag-status"), err); return; }
      const card = view.scorecard;
      $("#ag-meta").textContent = t("agentpage.meta", {team: view.team || "–", from: view.date_from || "–"});
      $("#ag-calls").textContent = card.total.calls;
      $("#ag-avg").textContent = fmtScore(card.total.average_score);
      $("#ag-team-avg").textContent = view.team_total ? t("agentpage.team_avg", {score: fmtScore(view.team_total.average_score)}) : "";
      $("#ag-disputes-n").textContent = view.open_disputes.length;
      $("#ag-coaching-n").textContent = view.coaching_total;
      lineChart($("#ag-trend"), card.trend.map((b) => ({label: b.period, value: b.average_score, text: `${fmtScore(b.average_score)} (${b.calls})`})), {label: t("me.trend")});
      rules(view); ruleTrend(card); calls(view); disputes(view);
    }
    document.querySelectorAll("[data-period]").forEach((button) => button.addEventListener("click", () => {
      document.querySelectorAll("[data-period]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      load(button.dataset.period);
    }));
    await load("week");
  };
})();
