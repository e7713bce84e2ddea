/* Search page: utterances across the calls the user may see (GET /api/v1/search), the query marked in context,
   each hit a link that opens the call at that moment (/ui/calls/<id>#t=<seconds>, see deeplink.js). */
"use strict";
(() => {
const ui = window.qaUi;
const $ = (sel) => document.querySelector(sel);
const LIMIT = 20;

/* Letters, digits and marks of scripts that put spaces between words; Chinese, Japanese, Thai… have no word starts
   (the same classes as qa_engine/app/search_text.py). */
const WORDY = /[\p{L}\p{N}\p{M}]/u;
const UNSPACED = /[\u0E00-\u0FFF\u1000-\u109F\u1780-\u17FF\u2E80-\u2FDF\u3000-\u9FFF\uA000-\uA4CF\uF900-\uFAFF\uFE30-\uFE4F\uFF66-\uFF9F\u{20000}-\u{3FFFF}]/u;
const isWordChar = (ch) => ch !== undefined && WORDY.test(ch) && !UNSPACED.test(ch);
const charBefore = (text, at) => Array.from(text.slice(Math.max(0, at - 2), at)).pop();

/* Where the query matches as the server matches it: any case, white space runs as one space, and a query that
   begins with a word only where a word begins ("hi" not inside "while"; Chinese anywhere). The query is escaped. */
function matches(text, query) {
  const needle = query.replace(/\s+/g, " ").trim();
  const source = Array.from(needle, (ch) => (ch === " " ? "\\s+" : ch.replace(/[\\^$.*+?()[\]{}|/]/, "\\$&"))).join("");
  const pattern = new RegExp(source, "giu"), atWordStart = isWordChar(Array.from(needle)[0]), found = [];
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (atWordStart && isWordChar(charBefore(text, m.index))) { pattern.lastIndex = m.index + 1; continue; }
    found.push([m.index, m.index + m[0].length]);
  }
  return found;
}

/* The text with every match of the query in <mark>, everything escaped. */
function marked(text, query) {
  let out = "", from = 0;
  for (const [start, end] of query.trim() ? matches(text, query) : []) {
    out += ui.esc(text.slice(from, start)) + `<mark>${ui.esc(text.slice(start, end))}</mark>`;
    from = end;
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
