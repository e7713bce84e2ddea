/* Call page: loudness of each party (dB above their own median), overtalk and raised-voice markers, from
   report.analytics.acoustics (qa_engine/acoustics.py documents the shape). Rendered into #acoustics
   (call_acoustics.html) when app.js announces the call with "qa:call"; a marker or a band seeks the player there
   (detail.seek). Calls scored from a transcript have no audio analysis: the section says so. */
"use strict";
(() => {
  const W = 720, H = 180, L = 34, R = 8, T = 8, B = 22, LOW = -20, HIGH = 20;

  function chart(ac, duration, ui) {
    const {esc, t, fmtTime} = ui;
    const x = (s) => L + ((W - L - R) * Math.max(0, Math.min(duration, s))) / (duration || 1);
    const y = (db) => T + ((H - T - B) * (HIGH - Math.max(LOW, Math.min(HIGH, db)))) / (HIGH - LOW);
    const line = (role) => {
      const pts = (ac.loudness || {})[role] || [];
      const d = pts.map(([s, db], i) => `${i ? "L" : "M"}${x(s).toFixed(1)},${y(db).toFixed(1)}`).join(" ");
      return d ? `<path d="${d}" class="ac-line ${role}"/>` : "";
    };
    const band = (cls, s, e, title) => `<rect class="${cls}" x="${x(s).toFixed(1)}" y="${T}" width="${Math.max(2, x(e) - x(s)).toFixed(1)}" height="${H - T - B}" data-start="${Number(s)}"><title>${esc(title)}</title></rect>`;
    const who = (role) => t(`acoustics.who.${role}`);
    const bands = (ac.overtalk || []).map((o) => band("ac-overtalk", o.start, o.end, t("acoustics.overtalk_at", {time: fmtTime(o.start), s: (o.end - o.start).toFixed(1), who: who(o.started_by)})))
      .concat((ac.raised_voice || []).map((r) => band("ac-raised", r.start, r.end, t("acoustics.raised_at", {who: who(r.role), time: fmtTime(r.start), db: r.db_above_median, s: (r.end - r.start).toFixed(1)}))));
    const grid = [LOW, -10, 0, 10, HIGH].map((db) => `<text x="${L - 4}" y="${y(db) + 3}" class="axis" text-anchor="end">${db > 0 ? "+" : ""}${db}</text>`).join("");
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * duration)}" y="${H - 6}" class="axis" text-anchor="${f === 0 ? "start" : f === 1 ? "end" : "middle"}">${esc(fmtTime(f * duration))}</text>`).join("");
    return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(t("acoustics.chart_label"))}">${grid}${ticks}
      <line x1="${L}" x2="${W - R}" y1="${y(0)}" y2="${y(0)}" class="ac-zero"/>${bands.join("")}${line("customer")}${line("agent")}</svg>`;
  }

  function markers(ac, ui) {
    const {esc, t, fmtTime} = ui;
    const who = (role) => t(`acoustics.who.${role}`);
    const rows = (ac.raised_voice || []).map((r) => ({start: r.start, cls: "raised", text: t("acoustics.raised_at", {who: who(r.role), time: fmtTime(r.start), db: r.db_above_median, s: (r.end - r.start).toFixed(1)})}))
      .concat((ac.overtalk || []).filter((o) => o.started_by === "agent").map((o) => ({start: o.start, cls: "overtalk", text: t("acoustics.overtalk_at", {time: fmtTime(o.start), s: (o.end - o.start).toFixed(1), who: who(o.started_by)})})))
      .sort((a, b) => a.start - b.start).slice(0, 50);
    return rows.map((r) => `<button type="button" class="ac-marker ${r.cls}" data-start="${Number(r.start)}">${esc(r.text)}</button>`).join("");
  }

  document.addEventListener("qa:call", (event) => {
    const ui = window.qaUi;
    const box = document.getElementById("acoustics");
    if (!ui || !box) return;
    const {call, seek, duration} = event.detail;
    const ac = call.report && call.report.analytics && call.report.analytics.acoustics;
    box.classList.remove("hidden");
    const summary = document.getElementById("acoustics-summary");
    if (!ac) { summary.innerHTML = ui.empty(ui.t("acoustics.none")); return; }
    const overtalk = ac.overtalk || [];
    const byAgent = overtalk.filter((o) => o.started_by === "agent");
    const seconds = byAgent.reduce((a, o) => a + (o.end - o.start), 0).toFixed(1);
    summary.innerHTML = [ui.t("acoustics.overtalk_count", {n: overtalk.length, agent: byAgent.length}), ui.t("acoustics.overtalk_s", {s: seconds}),
      ui.t("acoustics.raised_count", {n: (ac.raised_voice || []).length}), ui.t("acoustics.non_talk", {s: ac.non_talk_s})]
      .map((text) => `<span class="badge g-n">${ui.esc(text)}</span>`).join(" ");
    document.getElementById("acoustics-chart").innerHTML = chart(ac, duration, ui);
    document.getElementById("acoustics-markers").innerHTML = markers(ac, ui);
    box.addEventListener("click", (e) => {
      const target = e.target.closest("[data-start]");
      if (target) seek(Number(target.dataset.start));
    });
  });
})();
