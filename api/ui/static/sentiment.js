/* Call page: the customer's sentiment turn by turn (utterances[].sentiment, -1..1, shown x100) and each party's
   start -> end (report.analytics.sentiment, qa_engine/sentiment.py). Rendered into #sentiment
   (call_sentiment.html) when app.js announces the call with "qa:call"; a turn's dot names its time and words. */
"use strict";
(() => {
  const pct = (v) => Math.round(100 * v);
  const tone = (v) => (v <= -0.3 ? "g-f" : v >= 0.3 ? "g-e" : "g-n");

  document.addEventListener("qa:call", (event) => {
    const ui = window.qaUi;
    const box = document.getElementById("sentiment");
    if (!ui || !box) return;
    const report = event.detail.call.report || {};
    const utterances = (report.utterances || []).filter((u) => typeof u.sentiment === "number");
    const summary = (report.analytics || {}).sentiment || {};
    box.classList.remove("hidden");
    const badges = ["customer", "agent"].filter((role) => summary[role]).map((role) => {
      const s = summary[role];
      const text = ui.t("sentiment.summary", {who: ui.t(`sentiment.who.${role}`), start: pct(s.start), end: pct(s.end), mean: pct(s.mean), trend: (s.trend >= 0 ? "+" : "") + pct(s.trend)});
      return `<span class="badge ${tone(s.end)}">${ui.esc(text)}</span>`;
    });
    const chips = document.getElementById("sentiment-summary");
    chips.innerHTML = badges.length ? badges.join(" ") : ui.empty(ui.t("sentiment.none"));
    const customer = utterances.filter((u) => u.role === "customer");
    const points = customer.map((u) => ({label: ui.fmtTime(u.start), value: pct(u.sentiment), text: `${pct(u.sentiment)} · ${u.text.slice(0, 40)}`}));
    ui.lineChart(document.getElementById("sentiment-chart"), points, {min: -100, max: 100, label: ui.t("sentiment.chart_label")});
  });
})();
