/* One agent's coaching history, a page at a time, from GET /api/v1/coaching?agent= (scoped by the server: an agent
   gets only their own threads, a supervisor those of their teams' agents). Rendered into #coaching-history
   (coaching_history.html) on /ui/me and on the drill-down /ui/agents/NAME. A thread's moment links to the call
   page at that comment (#comment-ID: coaching.js shows it and seeks the player to its time). */
"use strict";
(() => {
  const LIMIT = 20;

  document.addEventListener("DOMContentLoaded", () => {
    const ui = window.qaUi;
    const box = document.getElementById("coaching-history");
    if (!ui || !box) return;
    const {api, t, esc, table, failure, fmtTime, fmtDate} = ui;
    const list = document.getElementById("coaching-history-list");
    const pager = box.querySelector(".pager");
    let offset = 0;

    const callPage = (n) => `/ui/calls/${encodeURIComponent(n.about.id)}`;
    const moment = (n) => `<a class="coaching-history-at" href="${callPage(n)}#comment-${n.id}">${esc(n.at === null ? t("coaching.whole_call") : fmtTime(n.at))}</a>`;
    const text = (n) => (n.deleted_at ? `<em class="muted">${esc(t("coaching.tombstone", {name: n.deleted_by || ""}))}</em>`
      : `<span class="clamp">${esc(n.text)}</span>`);
    const columns = [
      {label: t("agentpage.call"), html: (n) => `<a class="call-link" href="${callPage(n)}">${esc(n.about.call_id)}</a>`},
      {label: t("coaching.moment"), html: moment},
      {label: t("agentpage.author"), html: (n) => esc(n.author)},
      {label: t("coaching.text"), html: text},
      {label: t("coaching.replies_n"), html: (n) => String(n.replies), cls: "num coaching-replies-n"},
      {label: t("agentpage.when"), html: (n) => esc(fmtDate(n.created_at))},
    ];

    function showPager(total) {
      const pages = Math.ceil(total / LIMIT);
      pager.classList.toggle("hidden", pages <= 1);
      pager.querySelector("span").textContent = t("calls.page", {page: Math.floor(offset / LIMIT) + 1, pages});
      pager.querySelector("[data-step='-1']").disabled = offset === 0;
      pager.querySelector("[data-step='1']").disabled = offset + LIMIT >= total;
    }
    async function load() {
      list.setAttribute("aria-busy", "true");
      try {
        const data = await api(`/coaching?${new URLSearchParams({agent: box.dataset.agent, limit: LIMIT, offset})}`);
        list.innerHTML = table(columns, data.items, t("coaching.none"));
        list.querySelectorAll("tbody tr").forEach((row, i) => { row.dataset.comment = data.items[i].id; });
        showPager(data.total);
      } catch (err) { failure(list, err); }
      list.removeAttribute("aria-busy");
    }
    pager.addEventListener("click", (e) => {
      const step = e.target.closest("[data-step]");
      if (step) { offset = Math.max(0, offset + Number(step.dataset.step) * LIMIT); load(); }
    });
    load();
  });
})();
