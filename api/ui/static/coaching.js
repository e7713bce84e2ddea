/* Call page: coaching threads (GET/POST /api/v1/calls/{id}/comments). Supervisors and admins comment at the
   player's current time (or on the whole call); the call's agent replies. A comment's time jumps the player there
   (detail.seek). Rendered into #coaching (call_coaching.html) when app.js announces the call with "qa:call". */
"use strict";
(() => {
  document.addEventListener("qa:call", (event) => {
    const ui = window.qaUi;
    const {call, seek, player} = event.detail;
    const box = document.getElementById("coaching");
    if (!ui || !box) return;
    const {api, t, esc, toast, empty, failure, fmtTime, fmtDate} = ui;
    const threads = document.getElementById("coaching-threads");
    const path = `/calls/${encodeURIComponent(call.id)}/comments`;
    box.classList.remove("hidden");

    const anchor = (c) => (c.at === null || c.at === undefined
      ? `<span class="badge g-n">${esc(t("coaching.whole_call"))}</span>`
      : `<button type="button" class="ev-time link coaching-at" data-at="${Number(c.at)}" aria-label="${esc(t("coaching.jump", {time: fmtTime(c.at)}))}">${esc(fmtTime(c.at))}</button>`);
    const head = (c) => `<div>${anchor(c)} <strong>${esc(c.author)}</strong> <span class="role role-${esc(c.author_role)}">${esc(t("role." + c.author_role))}</span> <span class="muted small">${esc(fmtDate(c.created_at))}</span></div>`;
    const replyForm = (c) => `<details class="action"><summary>${esc(t("coaching.reply"))}</summary><form class="coaching-reply stack" data-parent="${c.id}">
      <label for="cr-${c.id}">${esc(t("coaching.reply_label"))}</label><textarea id="cr-${c.id}" name="text" rows="2" maxlength="2000" required></textarea>
      <div class="row-buttons"><button class="primary" type="submit">${esc(t("coaching.reply_submit"))}</button></div></form></details>`;

    function render(list) {
      threads.innerHTML = list.length ? `<ol class="history coaching-list">${list.map((c) => `<li class="review coaching-thread" id="comment-${c.id}">
        ${head(c)}<p class="coaching-text">${esc(c.text)}</p>
        ${c.replies.length ? `<ol class="history coaching-replies">${c.replies.map((r) => `<li class="review coaching-reply-item" id="comment-${r.id}">${head(r)}<p class="coaching-text">${esc(r.text)}</p></li>`).join("")}</ol>` : ""}
        ${replyForm(c)}</li>`).join("")}</ol>` : empty(t("coaching.none"));
    }
    async function load() {
      try { render(await api(path)); } catch (err) { failure(threads, err); return; }
      const target = location.hash.startsWith("#comment-") && document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView({block: "center"});  // a link from the agent page's coaching history
    }
    async function post(body, message) {
      try { await api(path, {method: "POST", json: body}); toast(t(message)); await load(); return true; }
      catch (err) { toast(`${t("common.error")}: ${err.message}`, "bad"); return false; }
    }

    threads.addEventListener("click", (e) => {
      const button = e.target.closest(".coaching-at");
      if (button) seek(Number(button.dataset.at));
    });
    threads.addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      const text = form.elements.text.value.trim();
      if (text && await post({text, parent: Number(form.dataset.parent)}, "coaching.replied")) form.reset();
    });

    const form = document.getElementById("coaching-form");
    if (form) {
      const now = document.getElementById("coaching-now");
      const check = document.getElementById("coaching-anchor");
      if (!call.audio_url) { check.checked = false; document.getElementById("coaching-anchor-label").classList.add("hidden"); }
      const show = () => { now.textContent = fmtTime(player.currentTime); };
      player.addEventListener("timeupdate", show); player.addEventListener("seeked", show);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const text = form.elements.text.value.trim();
        if (!text) return;
        const body = {text};
        if (check.checked && call.audio_url) body.at = Math.round(player.currentTime * 10) / 10;
        if (await post(body, "coaching.posted")) form.elements.text.value = "";
      });
    }
    load();
  });
})();
