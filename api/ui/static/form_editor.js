/* Evaluation form editor (admins, calibration page): one table row per item (add, remove, reorder with buttons that
   keep the keyboard focus), a live weight total, each server validation error beside the field it names, and under
   "advanced" the JSON of the same body (editing either side updates the other). The API is unchanged: the textarea
   always holds the body that is sent, so a form the table cannot show is still sent as written. A stored form the
   user may see can be loaded as the starting point: forms are never edited, so saving it adds its next version.
   Loading over unsaved edits asks first (a confirm dialog); over a form as set up, loaded or saved it does not. */
"use strict";
(() => {
const ui = window.qaUi;
const {t, esc, escValue} = ui;
const $ = (sel, root = document) => root.querySelector(sel);
/* the request schema's defaults (api/evaluation_schemas.py, FormItemSchema) for what a JSON item leaves out */
const ITEM_DEFAULTS = {weight: 1, max: 1, allow_na: false, critical: false};
const TOP_FIELDS = ["team", "name", "auto_weight"];
const NUMBER_FIELDS = new Set(["weight", "max", "auto_weight"]);

let form = {team: "", name: "", auto_weight: 0.5, items: []};  // the body being edited; unknown keys are kept
let onSaved = async () => {};
let offered = [];  // the chooser's forms: what the list API gave this user, newest first
let unchanged = "";  // the JSON of the form as set up, loaded or saved: any other text holds unsaved edits

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const tableable = (doc) => isObject(doc) && Array.isArray(doc.items) && doc.items.every(isObject);
const rows = () => $("#fe-items").rows;
const jsonBox = () => $("#form-json");
/* the table's form for a body: what an item leaves out shows the schema's default */
const editable = (doc) => ({...doc, items: doc.items.map((item) => ({...ITEM_DEFAULTS, ...item}))});

function fieldValue(input) {
  if (input.type === "checkbox") return input.checked;
  if (NUMBER_FIELDS.has(input.dataset.field)) return input.value === "" ? null : Number(input.value);
  return input.value;
}

function nextId() {
  const used = new Set(form.items.map((item) => item.id));
  let n = form.items.length + 1;
  while (used.has(`item${n}`)) n += 1;
  return `item${n}`;
}

/* --- rendering --- */

function cell(i, field, value, attrs) {
  const name = t("fe.field_n", {field: t(`fe.${field}`), n: i + 1});
  if (field === "allow_na" || field === "critical") {
    return `<td class="fe-check"><input type="checkbox" data-field="${field}" aria-label="${esc(name)}"${value === true ? " checked" : ""}></td>`;
  }
  return `<td><input data-field="${field}" aria-label="${esc(name)}" value="${escValue(value ?? "")}" ${attrs}></td>`;
}

function rowHtml(item, i, count) {
  const n = i + 1;
  return `<tr data-index="${i}"><td class="num">${n}</td>
    ${cell(i, "id", item.id, 'class="fe-id" maxlength="64" spellcheck="false" autocomplete="off"')}
    ${cell(i, "label", item.label, 'maxlength="200"')}
    ${cell(i, "weight", item.weight, 'class="fe-num" type="number" min="0" max="1000" step="any"')}
    ${cell(i, "max", item.max, 'class="fe-num" type="number" min="1" max="100" step="1"')}
    ${cell(i, "allow_na", item.allow_na)}${cell(i, "critical", item.critical)}
    <td class="num fe-share"></td>
    <td class="fe-actions">
      <button type="button" class="ghost fe-move" data-delta="-1" aria-label="${esc(t("fe.up", {n}))}" title="${esc(t("fe.up", {n}))}"${i === 0 ? " disabled" : ""}>↑</button>
      <button type="button" class="ghost fe-move" data-delta="1" aria-label="${esc(t("fe.down", {n}))}" title="${esc(t("fe.down", {n}))}"${i === count - 1 ? " disabled" : ""}>↓</button>
      <button type="button" class="danger fe-remove" aria-label="${esc(t("fe.remove", {n}))}" title="${esc(t("fe.remove", {n}))}">✕</button>
    </td></tr>`;
}

function renderTable() {
  for (const field of TOP_FIELDS) $(`#form-editor [data-field="${field}"]`).value = form[field] ?? "";
  $("#fe-items").innerHTML = form.items.map((item, i) => rowHtml(item, i, form.items.length)).join("");
  renderTotal();
}

const positive = (w) => (typeof w === "number" && Number.isFinite(w) && w > 0 ? w : 0);
const pct = (share) => `${Math.round(share * 100)}%`;

/* manual score = Σ(weight × value / max) / Σ weight: an item's share of it is its weight over the total */
function renderTotal() {
  const total = form.items.reduce((sum, item) => sum + positive(item.weight), 0);
  [...rows()].forEach((row, i) => {
    row.querySelector(".fe-share").textContent = total ? pct(positive(form.items[i].weight) / total) : "–";
  });
  const auto = form.auto_weight;
  const manual = typeof auto === "number" && auto >= 0 && auto <= 1 ? pct(1 - auto) : "–";
  $("#fe-total").textContent = t("fe.total", {n: form.items.length, weight: Number(total.toFixed(3)), manual});
}

const writeJson = () => { jsonBox().value = JSON.stringify(form, null, 2); jsonNote(""); };
const markUnchanged = (body = jsonBox().value) => { unchanged = body; };
const hasUnsavedEdits = () => jsonBox().value !== unchanged;

function jsonNote(message) {
  const note = $("#fe-json-error");
  note.textContent = message;
  note.classList.toggle("hidden", !message);
}

/* --- editing --- */

function onTableInput(event) {
  const input = event.target.closest("[data-field]");
  if (!input) return;
  const row = input.closest("tr");
  if (row) form.items[Number(row.dataset.index)][input.dataset.field] = fieldValue(input);
  else form[input.dataset.field] = fieldValue(input);
  clearFieldError(input);
  renderTotal();
  writeJson();
}

/* rows changed shape: errors named by index no longer fit, so they go; focus goes where the user expects */
function restructure(focusSelector, announcement) {
  clearErrors();
  renderTable();
  writeJson();
  $("#fe-status").textContent = announcement;
  focusFirst(focusSelector);
}

/* the first enabled element the selectors find, in their order */
function focusFirst(selectors) {
  const el = selectors.flatMap((sel) => [...document.querySelectorAll(sel)]).find((candidate) => !candidate.disabled);
  el?.focus();
}

function onTableClick(event) {
  const button = event.target.closest("button");
  const row = button?.closest("tr");
  if (!row) return;
  const i = Number(row.dataset.index);
  if (button.classList.contains("fe-move")) {
    const delta = Number(button.dataset.delta), j = i + delta;
    [form.items[i], form.items[j]] = [form.items[j], form.items[i]];
    const at = `#fe-items tr:nth-child(${j + 1})`;
    restructure([`${at} .fe-move[data-delta="${delta}"]`, `${at} .fe-move`], t("fe.moved", {from: i + 1, n: j + 1}));
  } else if (button.classList.contains("fe-remove")) {
    form.items.splice(i, 1);
    const stay = Math.min(i, form.items.length - 1) + 1;
    restructure([`#fe-items tr:nth-child(${stay}) .fe-remove`, "#fe-add"], t("fe.removed", {n: i + 1}));
  }
}

function addItem() {
  form.items.push({id: nextId(), label: "", ...ITEM_DEFAULTS});
  const n = form.items.length;
  restructure([`#fe-items tr:nth-child(${n}) [data-field="label"]`], t("fe.added", {n}));
}

/* the JSON side: a form the table can show replaces the table's; anything else waits in the textarea */
function onJsonInput() {
  let doc;
  try { doc = JSON.parse(jsonBox().value); } catch (err) { jsonNote(`${t("cal.bad_json")}: ${err.message}`); return; }
  if (!tableable(doc)) { jsonNote(t("fe.not_tableable")); return; }
  jsonNote("");
  form = editable(doc);
  clearErrors();
  renderTable();
}

/* --- starting from a stored form --- */

const describe = (stored) => t("fe.option", {team: stored.team, name: stored.name, version: stored.version});

/** Offer ``forms`` (the list API's answer to this user, newest first) in the chooser, keeping the choice if offered. */
function offer(forms) {
  const chooser = $("#fe-load-form");
  if (!chooser) return;
  const chosen = chooser.value;
  offered = forms;
  chooser.innerHTML = forms.length
    ? forms.map((f) => `<option value="${f.id}">${esc(describe(f))}${f.current ? ` (${esc(t("cal.current"))})` : ""}</option>`).join("")
    : `<option value="">${esc(t("fe.no_forms"))}</option>`;
  if (forms.some((f) => String(f.id) === chosen)) chooser.value = chosen;
  chooser.disabled = $("#fe-load").disabled = !forms.length;
}

/* saving under the same team and name adds the version after the highest stored one */
const nextVersion = (stored) => 1 + Math.max(stored.version,
  ...offered.filter((f) => f.team === stored.team && f.name === stored.name).map((f) => f.version));

/* only what a new version is made of: the API's own fields (id, version, created_by, ...) are not sent back */
const bodyOf = (stored) => ({team: stored.team, name: stored.name, auto_weight: stored.auto_weight, items: stored.items});

/* loading replaces the whole body: unsaved edits go only when the user agrees */
async function loadChosen() {
  const id = $("#fe-load-form").value;
  if (!id) return;
  if (hasUnsavedEdits() && !confirm(t("fe.discard_confirm"))) return;
  let stored;
  try { stored = await ui.api(`/evaluation-forms/${encodeURIComponent(id)}`); }
  catch (err) { showSummary(`${t("common.error")}: ${err.message}`); return; }
  form = editable(bodyOf(stored));
  clearErrors();
  renderTable();
  writeJson();
  markUnchanged();
  $("#fe-source").textContent = t("fe.loaded", {team: stored.team, name: stored.name, version: stored.version,
    next: nextVersion(stored)});
}

/* the answer names the version made; the chooser then offers it, chosen */
async function showSaved(response) {
  const stored = await response.json();
  ui.toast(t("cal.form_saved"));
  $("#fe-source").textContent = t("fe.saved", {team: stored.team, name: stored.name, version: stored.version});
  await onSaved();
  if (offered.some((f) => f.id === stored.id)) $("#fe-load-form").value = String(stored.id);
}

/* --- server errors --- */

function clearFieldError(input) {
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
  input.parentElement.querySelector(".fe-msg")?.remove();
}

function clearErrors() {
  document.querySelectorAll("#form-editor [aria-invalid]").forEach(clearFieldError);
  $("#form-error").classList.add("hidden");
}

let messageCount = 0;

function showFieldError(input, message) {
  let note = input.parentElement.querySelector(".fe-msg");
  if (!note) {
    note = document.createElement("p");
    note.className = "fe-msg";
    note.id = `fe-msg-${++messageCount}`;
    input.after(note);
  }
  note.textContent = note.textContent ? `${note.textContent}; ${message}` : message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", note.id);
}

/* a field-path error (items.1.weight) names a row by its index, which is the row's place in the table */
function fieldFor(path) {
  const [head, index, field] = path;
  if (head === "items" && Number.isInteger(index)) {
    const row = rows()[index];
    return row?.querySelector(`[data-field="${field}"]`) || row?.querySelector('[data-field="label"]') || null;
  }
  return TOP_FIELDS.includes(head) ? $(`#form-editor [data-field="${head}"]`) : null;
}

/* the use case's own checks (a blank label, an id used twice) name the item by its id, quoted */
const fieldsNamedIn = (message) => [...rows()]
  .filter((row, i) => typeof form.items[i]?.id === "string" && message.includes(`'${form.items[i].id}'`))
  .map((row) => row.querySelector('[data-field="id"]'));

function showServerErrors(detail) {
  const placed = [];
  let summary;
  if (Array.isArray(detail)) {
    summary = detail.map((d) => {
      const path = (d.loc || []).slice(1);
      const input = fieldFor(path);
      if (input) { showFieldError(input, d.msg); placed.push(input); }
      return `${path.join(".")}: ${d.msg}`;
    }).join("; ");
  } else {
    summary = String(detail);
    for (const input of fieldsNamedIn(summary)) { showFieldError(input, summary); placed.push(input); }
  }
  showSummary(summary);
  placed[0]?.focus();
}

function showSummary(message) {
  const box = $("#form-error");
  box.textContent = message;
  box.classList.remove("hidden");
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const sent = jsonBox().value;
  let body;
  try { body = JSON.parse(sent); } catch (err) { showSummary(`${t("cal.bad_json")}: ${err.message}`); return; }
  let response;
  try {
    // not qaUi.api: a validation error keeps the path of each bad field (items.0.weight: ...)
    response = await fetch("/api/v1/evaluation-forms", {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": ui.csrf()}});
  } catch (err) { showSummary(`${t("common.error")}: ${err.message}`); return; }
  if (response.ok) { markUnchanged(sent); await showSaved(response); return; }
  const data = await response.json().catch(() => ({detail: response.statusText}));
  showServerErrors(data.detail);
}

/* --- wiring --- */

/** Start the editor with ``initial`` (a form body); ``saved`` runs after each successful save. */
function setup(initial, saved) {
  const editor = $("#form-editor");
  if (!editor) return;
  onSaved = saved;
  form = editable(initial);
  renderTable();
  writeJson();
  markUnchanged();
  editor.addEventListener("input", (event) => { if (event.target !== jsonBox()) onTableInput(event); });
  jsonBox().addEventListener("input", onJsonInput);
  $("#fe-items").addEventListener("click", onTableClick);
  $("#fe-add").addEventListener("click", addItem);
  $("#fe-load").addEventListener("click", loadChosen);
  editor.addEventListener("submit", submit);
}

window.qaFormEditor = {setup, offer};
})();
