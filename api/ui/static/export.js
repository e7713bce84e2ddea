/* Calls page: the "Export CSV" link downloads GET /api/v1/calls/export with the list's current filters and sort
   (the query string the list keeps in the address bar), read at click time so it follows every filter change. */
"use strict";
(() => {
  const EXPORT = "/api/v1/calls/export";
  const DROP = ["offset", "limit", "lang"];  // paging and UI language are not filters of the export
  function href() {
    const params = new URLSearchParams(location.search);
    DROP.forEach((name) => params.delete(name));
    for (const [key, value] of [...params]) if (!value) params.delete(key);
    params.set("format", "csv");
    return `${EXPORT}?${params}`;
  }
  document.addEventListener("DOMContentLoaded", () => {
    const link = document.getElementById("calls-export");
    if (!link) return;
    const update = () => { link.href = href(); };
    update();
    link.addEventListener("click", update);  // before the browser follows it
    link.addEventListener("focus", update);
  });
})();
