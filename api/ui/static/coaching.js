/* Call page: coaching threads (GET/POST /api/v1/calls/{id}/comments). Supervisors and admins comment at the
   player's current time (or on the whole call); the call's agent replies (not on a deleted thread). A comment's
   time jumps the player there (detail.seek), also when the page is opened at it (#comment-ID, from a coaching history). Authors edit (PATCH)
   and delete (DELETE) their own comments, an admin deletes any; the server decides, the buttons only follow its
   rules. Rendered into #coaching (call_coaching.html) when app.js announces
   the call with "qa:call"; every button is wired here (the CSP forbids inline handlers). */
"use strict";
(() => {
  document.addEventListener("qa:call", (event) => {
    const ui = window.qaUi;
    const {call, seek, player} = event.detail;
    const box = document.getElementById("coaching");
    if (!ui || !box) return;
    const {api, t, esc, escValue, toast, empty, failure, fmtTime, fmtDate} = ui;
    const threads = document.getElementById("coaching-threads");
    const path = `/calls/${encodeURIComponent(call.id)}/comments`;
    const me = {name: box.dataset.name, role: box.dataset.role};
    box.classList.remove("hidden");

    const anchor = (c) => (c.at === null || c.at === undefined
      ? `<span class="badge g-n">${esc(t("coaching.whole_call"))}</span>`
      : `<button type="button" class="ev-time link coaching-at" data-at="${Number(c.at)}" aria-label="${esc(t("coaching.jump", {time: fmtTime(c.at)}))}">${esc(fmtTime(c.at))}</button>`);
    const edited = (c) => (c.edited_at && !c.deleted_at ? ` <span class="muted small coaching-edited" title="${esc(fmtDate(c.edited_at))}">${esc(t("coaching.edited"))}</span>` : "");
    const head = (c) => `<div>${anchor(c)} <strong>${esc(c.author)}</strong> <span class="role role-${esc(c.author_role)}">${esc(t("role." + c.author_role))}</span> <span class="muted small">${esc(fmtDate(c.created_at))}</span>${edited(c)}</div>`;
    const commentText = (c) => (c.deleted_at
      ? `<p class="coaching-text coaching-tombstone muted"><em>${esc(t("coaching.tombstone", {name: c.deleted_by || ""}))}</em></p>`
      : `<p class="coaching-text">${esc(c.text)}</p>`);
    const mine = (c) => !c.deleted_at && c.author === me.name;
    const editForm = (c) => (mine(c) ? `<details class="action coaching-edit-box"><summary>${esc(t("coaching.edit"))}</summary><form class="coaching-edit stack" data-id="${c.id}">
      <label for="ce-${c.id}">${esc(t("coaching.edit_label"))}</label><textarea id="ce-${c.id}" name="text" rows="2" maxlength="2000" required>${escValue(c.text)}</textarea>
      <div class="row-buttons"><button class="primary" type="submit">${esc(t("coaching.save"))}</button></div></form></details>` : "");
    const deleteButton = (c) => (mine(c) || (!c.deleted_at && me.role === "admin")
      ? `<button type="button" class="danger coaching-delete" data-id="${c.id}">${esc(t("coaching.delete"))}</button>` : "");
    const tools = (c) => `${editForm(c)}${deleteButton(c)}`;
    /* A deleted thread (a tombstone) keeps its replies but takes no new ones (the server answers 409). */
    const replyForm = (c) => (c.deleted_at ? "" : `<details class="action"><summary>${esc(t("coaching.reply"))}</summary><form class="coaching-reply stack" data-parent="${c.id}">
      <label for="cr-${c.id}">${esc(t("coaching.reply_label"))}</label><textarea id="cr-${c.id}" name="text" rows="2" maxlength="2000" required></textarea>
      <div class="row-buttons"><button class="primary" type="submit">${esc(t("coaching.reply_submit"))}</button></div></form></details>`);

    function render(list) {
      threads.innerHTML = list.length ? `<ol class="history coaching-list">${list.map((c) => `<li class="review coaching-thread" id="comment-${c.id}">
        ${head(c)}${commentText(c)}${tools(c)}
        ${c.replies.length ? `<ol class="history coaching-replies">${c.replies.map((r) => `<li class="review coaching-reply-item" id="comment-${r.id}">${head(r)}${commentText(r)}${tools(r)}</li>`).join("")}</ol>` : ""}
        ${replyForm(c)}</li>`).join("")}</ol>` : empty(t("coaching.none"));
    }
    async function load() {
      try { render(await api(path)); return true; } catch (err) { failure(threads, err); return false; }
    }
    /* A link from a coaching history (#comment-ID): show that comment and, when it is anchored, seek its moment. */
    function openLinked() {
      const target = location.hash.startsWith("#comment-") && document.getElementById(location.hash.slice(1));
      if (!target) return;
      target.scrollIntoView({block: "center"});
      const at = target.querySelector(".coaching-at");
      if (at && call.audio_url) seek(Number(at.dataset.at));
    }
    async function send(url, options, message) {
      try { await api(url, options); toast(t(message)); await load(); return true; }
      catch (err) { toast(`${t("common.error")}: ${err.message}`, "bad"); return false; }
    }
    const post = (body, message) => send(path, {method: "POST", json: body}, message);

    threads.addEventListener("click", (e) => {
      const button = e.target.closest(".coaching-at");
      if (button) seek(Number(button.dataset.at));
      const remove = e.target.closest(".coaching-delete");
      if (remove && confirm(t("coaching.delete_confirm"))) send(`${path}/${remove.dataset.id}`, {method: "DELETE"}, "coaching.removed");
    });
    threads.addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      const text = form.elements.text.value.trim();
      if (!text) return;
      if (form.classList.contains("coaching-edit")) send(`${path}/${form.dataset.id}`, {method: "PATCH", json: {text}}, "coaching.saved");
      else if (await post({text, parent: Number(form.dataset.parent)}, "coaching.replied")) form.reset();
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
    load().then((loaded) => { if (loaded) openLinked(); });
  });
})();
