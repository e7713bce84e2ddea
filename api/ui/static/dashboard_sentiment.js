/* Dashboard card: customer sentiment at the end of this week's calls, by team and by agent, from
   GET /api/v1/analytics/sentiment (scoped like the call list). A bar's length maps -1..1 onto 0..100%; its text is
   the mean end sentiment (x100) and the share of calls that ended negatively. */
"use strict";
(() => {
  const pct = (v) => Math.round(100 * v);
  const color = (v) => (v <= -0.3 ? "var(--bad)" : v < 0.1 ? "var(--warn)" : "var(--ok)");

  async function render() {
    const ui = window.qaUi;
    const box = document.getElementById("dash-sentiment");
    if (!ui || !box) return;
    const from = ui.centreMonday();  // this week in the call centre's zone, as the other dashboard cards
    try {
      const stats = await ui.api(`/analytics/sentiment?from=${encodeURIComponent(from)}`);
      const bars = (rows, key) => rows.slice(0, 8).map((g) => ({
        label: g.name || "–", value: (g.mean_end + 1) * 50, color: color(g.mean_end),
        text: ui.t("sentiment.bar", {mean: pct(g.mean_end), neg: pct(g.negative_share), n: g.calls}),
        href: g.name && !(key === "team" && (window.QA || {}).user?.role === "agent") ? `/ui/calls?${key}=${encodeURIComponent(g.name)}&from=${from}` : null,
      }));
      const o = stats.overall;
      document.getElementById("dash-sentiment-overall").textContent = o.calls
        ? ui.t("sentiment.overall", {mean: pct(o.mean_end), neg: pct(o.negative_share), n: o.calls}) : "";
      ui.barChart(document.getElementById("dash-sentiment-teams"), bars(stats.teams, "team"), {max: 100});
      ui.barChart(document.getElementById("dash-sentiment-agents"), bars(stats.agents, "agent"), {max: 100});
    } catch (err) { ui.failure(document.getElementById("dash-sentiment-teams"), err); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
