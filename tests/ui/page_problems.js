/* What is wrong with a page showing hostile values (test_hostile_values_ui.py), as a list (empty: nothing):
   an injected element (data-qaxss) or script run (window.qaXss), an event handler attribute, a javascript: URL,
   and a right-to-left override that reaches text after it. The override check walks the text after each
   override up to the nearest element that isolates bidirectional text (a block, an inline block, or unicode-bidi
   isolate/plaintext), skipping text inside such elements, and stops at the PDI closing the isolate it is in. */
(rlo) => {
  const bad = [];
  if (window.qaXss !== undefined) bad.push("injected script ran");
  document.querySelectorAll("[data-qaxss]").forEach((n) => bad.push(`injected <${n.tagName}> in ${n.parentElement?.id || n.parentElement?.className}`));
  for (const n of document.querySelectorAll("*")) {
    for (const a of n.attributes) if (/^on/i.test(a.name)) bad.push(`event handler attribute ${a.name} on <${n.tagName}>`);
    const link = n.getAttribute("href") ?? n.getAttribute("xlink:href") ?? n.getAttribute("src") ?? n.getAttribute("action");
    if (link !== null && /^\s*javascript:/i.test(link)) bad.push(`javascript: URL on <${n.tagName}>`);
  }
  const isolates = (el) => { const s = getComputedStyle(el); return s.display !== "inline" || /isolate|plaintext/.test(s.unicodeBidi) || el.matches("textarea, input, select, option"); };
  const skipped = (node, scope) => { for (let el = node.parentElement; el && el !== scope; el = el.parentElement) if (isolates(el)) return true; return false; };
  // the text the override reaches: up to the PDI that closes the isolate it was opened in (a PDF right after it)
  const reached = (text) => {
    let depth = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch >= "\u2066" && ch <= "\u2068") depth += 1;
      else if (ch === "\u2069") { if (!depth) return text.slice(0, i); depth -= 1; }
      else if (ch === "\u202c" && !depth && !text.slice(0, i).trim()) return "";
    }
    return text;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const at = node.data.indexOf(rlo);
    if (at < 0 || !parent || parent.closest("script, style, textarea, title") || !parent.getClientRects().length) continue;
    let scope = parent; while (!isolates(scope)) scope = scope.parentElement;
    let after = node.data.slice(at + 1);
    const rest = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    rest.currentNode = node;
    for (let next = rest.nextNode(); next; next = rest.nextNode()) if (!skipped(next, scope)) after += next.data;
    after = reached(after);
    if (after.trim()) bad.push(`right-to-left override leaks onto ${JSON.stringify(after.trim().slice(0, 40))} in <${scope.tagName} ${scope.id || scope.className}>`);
  }
  return bad;
}
