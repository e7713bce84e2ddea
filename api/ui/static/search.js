/* Search page: utterances across the calls the user may see (GET /api/v1/search), the query marked in context,
   each hit a link that opens the call at that moment (/ui/calls/<id>#t=<seconds>, see deeplink.js). */
"use strict";
(() => {
const ui = window.qaUi;
const $ = (sel) => document.querySelector(sel);
const LIMIT = 20;

/* The text with every occurrence of the query in <mark>, everything escaped (case-insensitive, as the server). */
function marked(text, query) {
  const needle = query.replace(/\s+/g, " ").trim();
  if (!needle) return ui.esc(text);
  const same = text.toLowerCase().length === text.length && needle.toLowerCase().length === needle.length;
  const hay = same ? text.toLowerCase() : text, pin = same ? needle.toLowerCase() : needle;
  let out = "", from = 0;
  for (let at = hay.indexOf(pin); at >= 0; at = hay.indexOf(pin, from)) {
    out += ui.esc(text.slice(from, at)) + `<mark>${ui.esc(text.slice(at, at + pin.length))}</mark>`;
    from = at + pin.length;
  }
  return out + ui.esc(text.slice(from));
}

function hitHtml(hit, query) {
  const at = ui.fmtTime(hit.start);
  const href = `/ui/calls/${encodeURIComponent(hit.id)}#t=${Number(hit.start)}`;
  const who = [hit.call_id, window.QA.user.role !== "agent" ? hit.agent : null, hit.team, ui.fmtDate(hit.started_at)].filter(Boolean);
  return `<div class="utt ${ui.esc(hit.role)} search-hit">
    <a class="button ghost utt-time" href="${ui.esc(href)}" aria-label="${ui.esc(ui.t("search.open", {call: hit.call_id, time: at}))}">${ui.esc(at)}</a>
    <span class="utt-role">${ui.esc(ui.t("role.speaker." + hit.role))} · <span class="muted">${who.map(ui.esc).join(" · ")}</span></span>
    <p class="utt-text">${marked(hit.text, query)}</p></div>`;
}

ui.pages.search = async () => {
  const form = $("#search-form"), box = $("#search-results");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) { const input = form.elements.namedItem(k); if (input) input.value = v; }
  let offset = Number(params.get("offset") || 0);
  async function load() {
    const query = {};
    for (const el of form.elements) if (el.name && el.value.trim()) query[el.name] = el.value.trim();
    history.replaceState(null, "", `?${new URLSearchParams({...query, ...(offset ? {offset} : {})})}`);
    if (!query.q) { box.innerHTML = ui.empty(ui.t("search.start")); $("#search-total").textContent = ""; $("#s-prev").disabled = $("#s-next").disabled = true; return; }
    box.setAttribute("aria-busy", "true");
    try {
      const data = await ui.api(`/search?${new URLSearchParams({...query, limit: LIMIT, offset})}`);
      box.innerHTML = data.items.length ? data.items.map((h) => hitHtml(h, query.q)).join("") : ui.empty(ui.t("search.none"));
      $("#search-total").textContent = ui.t("search.total", {n: data.total});
      $("#s-page").textContent = ui.t("calls.page", {page: Math.floor(offset / LIMIT) + 1, pages: Math.max(1, Math.ceil(data.total / LIMIT))});
      $("#s-prev").disabled = offset === 0; $("#s-next").disabled = offset + LIMIT >= data.total;
    } catch (err) { ui.failure(box, err); }
    box.removeAttribute("aria-busy");
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
  $("#s-prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
  $("#s-next").addEventListener("click", () => { offset += LIMIT; load(); });
  load();
  if (!params.get("q")) $("#s-q").focus();
};
})();
