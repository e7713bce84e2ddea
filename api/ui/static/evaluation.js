/* Manual evaluations on the call page (listens to qa:call) and the form renderer the calibration page reuses
   (window.qaEval). Every figure comes from /api/v1: the API decides who sees which evaluation. */
"use strict";
(() => {
const ui = window.qaUi;
const {t, esc} = ui;
const user = () => (window.QA && window.QA.user) || {};
const isReviewer = () => ["supervisor", "admin"].includes(user().role);
let uid = 0;

// One item: yes/no radios (max 1), 0..max radios (max up to 10) or a number input; N/A where the form allows it.
function itemHtml(item) {
  const name = `ev-${++uid}-${item.id}`;
  const radio = (value, label) => `<label class="ev-choice"><input type="radio" name="${name}" value="${value}" required> ${esc(label)}</label>`;
  let choices;
  if (item.max === 1) choices = radio(1, t("ev.yes")) + radio(0, t("ev.no"));
  else if (item.max <= 10) choices = Array.from({length: item.max + 1}, (_, v) => radio(v, String(v))).join("");
  else choices = `<input type="number" name="${name}" min="0" max="${item.max}" step="1" required aria-label="${esc(item.label)}" class="ev-number">`;
  if (item.allow_na) choices += item.max <= 10 ? radio("na", t("ev.na")) : `<label class="ev-choice"><input type="checkbox" data-na="${name}"> ${esc(t("ev.na"))}</label>`;
  const flags = [`${t("ev.value")} 0–${item.max}`, `×${item.weight}`].join(" · ");
  return `<fieldset class="ev-item" data-item="${esc(item.id)}" data-name="${name}">
    <legend>${esc(item.label)} ${item.critical ? `<span class="badge g-d">${esc(t("ev.critical"))}</span>` : ""} <span class="muted small">${esc(flags)}</span></legend>
    <div class="ev-choices">${choices}</div>
    <input type="text" class="ev-note" maxlength="2000" placeholder="${esc(t("ev.item_comment"))}" aria-label="${esc(item.label)} ${esc(t("ev.item_comment"))}">
  </fieldset>`;
}

function verdictsHtml(findings) {
  const rules = (findings || []).filter((f) => f.status === "pass" || f.status === "fail");
  if (!rules.length) return "";
  const row = (f) => `<label class="ev-verdict">${esc(f.summary || f.rule_id)}
    <select data-rule="${esc(f.rule_id)}"><option value="">${esc(t("ev.verdict_none"))}</option><option value="pass">${esc(t("ev.pass"))}</option><option value="fail">${esc(t("ev.fail"))}</option></select></label>`;
  return `<fieldset class="ev-verdicts"><legend>${esc(t("ev.rule_verdicts"))}</legend>${rules.map(row).join("")}</fieldset>`;
}

/** The form as an HTML <form>; onSubmit(body) gets {form, answers, comment, rule_verdicts?} ready for the API. */
function renderForm(box, form, {findings = null, submitLabel = t("ev.submit"), onSubmit}) {
  box.innerHTML = `<form class="ev-form" novalidate>
    <p class="muted small">${esc(t("ev.form_name", {name: form.name, version: form.version, auto: Math.round(form.auto_weight * 100)}))}</p>
    ${form.items.map(itemHtml).join("")}
    ${findings ? verdictsHtml(findings) : ""}
    <label>${esc(t("ev.comment"))}<textarea name="comment" rows="2" maxlength="4000"></textarea></label>
    <p class="ev-error alert hidden" role="alert"></p>
    <button class="primary" type="submit">${esc(submitLabel)}</button>
  </form>`;
  const el = box.querySelector("form");
  el.querySelectorAll("input[data-na]").forEach((box2) => box2.addEventListener("change", () => {
    const input = el.querySelector(`input[name="${box2.dataset.na}"]`); input.disabled = box2.checked;
  }));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = el.querySelector(".ev-error"); error.classList.add("hidden");
    const answers = [];
    for (const field of el.querySelectorAll(".ev-item")) {
      const name = field.dataset.name;
      const checked = field.querySelector(`input[name="${name}"]:checked`);
      const number = field.querySelector(`input[type=number][name="${name}"]`);
      const na = field.querySelector("input[data-na]");
      let value;
      if (checked) value = checked.value === "na" ? null : Number(checked.value);
      else if (na && na.checked) value = null;
      else if (number && number.value !== "") value = Number(number.value);
      else { error.textContent = `${t("ev.value")}: ${field.querySelector("legend").firstChild.textContent.trim()}`; error.classList.remove("hidden"); field.querySelector("input").focus(); return; }
      const note = field.querySelector(".ev-note").value.trim();
      answers.push({item: field.dataset.item, value, comment: note || null});
    }
    const body = {form: form.id, answers, comment: el.elements.comment.value.trim() || null};
    const verdicts = {};
    el.querySelectorAll("select[data-rule]").forEach((s) => { if (s.value) verdicts[s.dataset.rule] = s.value; });
    if (Object.keys(verdicts).length) body.rule_verdicts = verdicts;
    const button = el.querySelector("button[type=submit]"); button.disabled = true;
    try { await onSubmit(body); } catch (err) { error.textContent = err.message; error.classList.remove("hidden"); } finally { button.disabled = false; }
  });
  return el;
}

function scoreCell(e) {
  if (e.critical_failed) return `<strong class="bad">0.0</strong> <span class="badge g-d" title="${esc(t("ev.critical_failed"))}">${esc(t("ev.critical"))}</span>`;
  return `<strong>${ui.fmtScore(e.final_score)}</strong>`;
}

function details(e) {
  const rows = e.answers.map((a) => `<li>${esc(a.label)}: <strong>${a.value === null ? esc(t("ev.na")) : `${a.value}/${a.max}`}</strong>${a.comment ? ` <span class="muted">— ${esc(a.comment)}</span>` : ""}</li>`).join("");
  return `<details><summary>${esc(t("ev.details"))}</summary><ul class="ev-answers">${rows}</ul>${e.comment ? `<p class="muted">${esc(e.comment)}</p>` : ""}</details>`;
}

function renderList(box, evaluations, {onRelease}) {
  const columns = [
    {label: t("ev.reviewer"), html: (e) => esc(e.reviewer)},
    {label: t("ev.time"), html: (e) => esc(ui.fmtDate(e.created_at))},
    {label: t("ev.auto"), html: (e) => ui.fmtScore(e.auto_score), cls: "num"},
    {label: t("ev.manual"), html: (e) => ui.fmtScore(e.manual_score), cls: "num"},
    {label: t("ev.final"), html: scoreCell, cls: "num"},
    {label: t("ev.status"), html: (e) => (e.released_at ? `<span class="badge g-a">${esc(t("ev.released"))}</span>`
      : (onRelease ? `<button type="button" class="ghost ev-release" data-id="${e.id}">${esc(t("ev.release"))}</button>` : esc(t("ev.not_released"))))},
    {label: t("ev.details"), html: details},
  ];
  box.innerHTML = ui.table(columns, evaluations, onRelease ? t("ev.none") : t("ev.none_released"));
  box.querySelectorAll(".ev-release").forEach((b) => b.addEventListener("click", () => onRelease(Number(b.dataset.id), b)));
}

async function showOnCall(call, findings) {
  const section = document.getElementById("evaluation");
  if (!section) return;
  section.classList.remove("hidden");
  const listBox = document.getElementById("ev-list"), formBox = document.getElementById("ev-form-box");
  const path = `/calls/${encodeURIComponent(call.id)}/evaluations`;
  const reload = async () => {
    try {
      const evaluations = await ui.api(path);
      renderList(listBox, evaluations, {onRelease: isReviewer() ? async (id, button) => {
        button.disabled = true;
        try { await ui.api(`/evaluations/${id}/release`, {method: "POST"}); ui.toast(t("ev.released")); await reload(); }
        catch (err) { ui.toast(err.message, "bad"); button.disabled = false; }
      } : null});
    } catch (err) { ui.failure(listBox, err); }
  };
  await reload();
  if (!isReviewer() || call.status !== "done") return;
  try {
    const forms = call.team ? await ui.api(`/evaluation-forms?team=${encodeURIComponent(call.team)}`) : [];
    const form = forms.find((f) => f.current);
    if (!form) { formBox.innerHTML = `<p class="muted">${esc(t("ev.no_form"))}</p>`; return; }
    renderForm(formBox, form, {findings: null, onSubmit: async (body) => {
      await ui.api(path, {method: "POST", json: body});
      ui.toast(t("ev.submitted"));
      formBox.querySelector("form").reset();
      await reload();
    }});
  } catch (err) { ui.failure(formBox, err); }
}

document.addEventListener("qa:call", (event) => { showOnCall(event.detail.call, event.detail.call.report?.findings); });
window.qaEval = {renderForm, renderList, details, scoreCell};
})();
