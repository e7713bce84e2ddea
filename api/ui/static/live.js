// Live monitor: consumes the live feed (GET /api/v1/live/events, Server-Sent Events, session cookie).
// Renders each visible live call with its latest transcript lines, and the alerts as they come.
(function () {
  "use strict";
  var callsBox = document.getElementById("live-calls");
  var alertsBox = document.getElementById("live-alerts");
  if (!callsBox || !alertsBox || !window.EventSource) { return; }
  var zh = (window.QA && window.QA.lang || "").indexOf("zh") === 0;
  var L = zh ? {agent: "坐席", customer: "客户", ended: "已结束", report: "查看评分"}
             : {agent: "Agent", customer: "Customer", ended: "ended", report: "open report"};
  var calls = {};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function showEmpty(box, empty) {
    var e = box.parentNode.querySelector(".empty");
    if (e) { e.hidden = !empty; }
  }
  function fmt(s) { var m = Math.floor(s / 60), r = Math.floor(s % 60); return m + ":" + (r < 10 ? "0" : "") + r; }

  function callCard(info) {
    var card = calls[info.session_id];
    if (!card) {
      card = el("div", "live-call");
      card.head = el("div", "live-call-head", info.agent + (info.team ? " · " + info.team : ""));
      card.lines = el("ol", "live-lines");
      card.appendChild(card.head);
      card.appendChild(card.lines);
      callsBox.appendChild(card);
      calls[info.session_id] = card;
      (info.transcript || []).forEach(function (u) { addLine(card, u); });
      showEmpty(callsBox, false);
    }
    return card;
  }
  function addLine(card, u) {
    var li = el("li", "live-line role-" + u.role);
    li.appendChild(el("span", "muted small", fmt(u.start) + " " + (L[u.role] || u.role) + " "));
    li.appendChild(el("span", "", u.text));
    card.lines.appendChild(li);
    while (card.lines.children.length > 8) { card.lines.removeChild(card.lines.firstChild); }
  }
  function addAlert(ev) {
    var a = ev.alert, li = el("li", "live-alert sev-" + a.severity);
    li.appendChild(el("strong", "", a.rule_id + " "));
    li.appendChild(el("span", "muted small", fmt(a.at) + " "));
    li.appendChild(el("span", "", a.text || a.explanation));
    alertsBox.insertBefore(li, alertsBox.firstChild);
    showEmpty(alertsBox, false);
  }

  var source = new EventSource("/api/v1/live/events");
  source.addEventListener("snapshot", function (m) {
    JSON.parse(m.data).calls.forEach(function (info) {
      callCard(info);
      (info.alerts || []).forEach(function (a) { addAlert({alert: a}); });
    });
  });
  source.addEventListener("call_started", function (m) { callCard(JSON.parse(m.data).info); });
  source.addEventListener("transcript", function (m) {
    var ev = JSON.parse(m.data), card = calls[ev.call];
    if (card) { addLine(card, ev.utterance); }
  });
  source.addEventListener("alert", function (m) { addAlert(JSON.parse(m.data)); });
  source.addEventListener("call_ended", function (m) {
    var ev = JSON.parse(m.data), card = calls[ev.call];
    if (!card) { return; }
    card.head.appendChild(el("span", "muted small", " · " + L.ended + " "));
    if (ev.call_id) {
      var link = el("a", "", L.report);
      link.href = "/ui/calls/" + encodeURIComponent(ev.call_id);
      card.head.appendChild(link);
    }
  });
})();
