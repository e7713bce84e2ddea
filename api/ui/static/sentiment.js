/* Call page: the customer's sentiment turn by turn (utterances[].sentiment, -1..1, shown x100) and each party's
   start -> end (report.analytics.sentiment, qa_engine/sentiment.py). Rendered into #sentiment
   (call_sentiment.html) when app.js announces the call with "qa:call"; a turn's dot names its time and words, and is
   a link that Tab reaches and Enter or a click follows: it seeks the player to that turn (Space and the arrows stay
   the player's keys everywhere but on links, buttons and fields: app.js playerKeys). */
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
    const points = customer.map((u) => ({label: ui.fmtTime(u.start), value: pct(u.sentiment), text: `${pct(u.sentiment)} · ${u.text.slice(0, 40)}`,
      href: `#t=${u.start}`, name: ui.t("sentiment.dot", {who: ui.t("sentiment.who.customer"), time: ui.fmtTime(u.start), value: pct(u.sentiment)})}));
    const chart = document.getElementById("sentiment-chart");
    ui.lineChart(chart, points, {min: -100, max: 100, label: ui.t("sentiment.chart_label")});
    chart.addEventListener("click", (e) => seekDot(e, event.detail.seek));
  });

  /* A dot is a link to its turn (#t=, a deep link to share); a click or Enter on it seeks the player here (again on
     a second click, which a hash change would not). */
  function seekDot(e, seek) {
    const dot = e.target.closest("a.dot-link");
    if (!dot) return;
    e.preventDefault();
    seek(Number(dot.getAttribute("href").slice("#t=".length)));
  }
})();
