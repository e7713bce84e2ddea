// The live feed (GET /api/v1/live/events, Server-Sent Events, session cookie; scoped like the API), shared by the
// live monitor page and the dashboard's alerts panel so both read the feed and draw an alert the same way:
//   window.qaLive.connect(handlers)      one EventSource; calls by session id; snapshot/started/transcript/alert/ended
//   window.qaLive.alertList(ul, options) newest-first alert items (call, agent, rule, time, link), empty state kept true
(function () {
  "use strict";
  var QA = window.QA || (function () {
    try { return JSON.parse(document.getElementById("qa-boot").textContent); } catch (e) { return null; }
  }()) || {messages: {}, lang: "zh"};
  var M = QA.messages || {};
  function t(key, values) {
    var text = M[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function fmt(s) { var m = Math.floor(s / 60), r = Math.floor(s % 60); return m + ":" + (r < 10 ? "0" : "") + r; }
  function showEmpty(box, empty) {
    var e = box.parentNode.querySelector(".empty");
    if (e) { e.hidden = !empty; }
  }

  // One EventSource for the page; handlers get the call's info (agent, team, started_at, call_id once stored).
  function connect(h) {
    if (!window.EventSource) { return null; }
    var calls = {};
    function known(info) {
      var c = calls[info.session_id];
      if (!c) { c = calls[info.session_id] = info; if (h.call) { h.call(c); } }
      return c;
    }
    var source = new EventSource("/api/v1/live/events");
    source.addEventListener("snapshot", function (m) {
      JSON.parse(m.data).calls.forEach(function (info) {
        var c = known(info);
        (info.alerts || []).forEach(function (a) { if (h.alert) { h.alert(c, a); } });
      });
      if (h.open) { h.open(); }
    });
    source.addEventListener("call_started", function (m) { known(JSON.parse(m.data).info); });
    source.addEventListener("transcript", function (m) {
      var ev = JSON.parse(m.data), c = calls[ev.call];
      if (c && h.transcript) { h.transcript(c, ev.utterance); }
    });
    source.addEventListener("alert", function (m) {
      var ev = JSON.parse(m.data), c = calls[ev.call];
      if (c && h.alert) { h.alert(c, ev.alert); }
    });
    source.addEventListener("call_ended", function (m) {
      var ev = JSON.parse(m.data), c = calls[ev.call];
      if (!c) { return; }
      c.state = "ended";
      c.call_id = ev.call_id || c.call_id;
      if (h.ended) { h.ended(c); }
    });
    source.addEventListener("error", function () { if (h.error) { h.error(source.readyState); } });
    return source;
  }

  // Alerts into ``list`` (a <ul>), newest first, each once (the snapshot repeats them after a reconnect).
  // options: limit (items kept), liveLink (link alerts of calls still going to the live monitor).
  function alertList(list, options) {
    var opts = options || {}, limit = opts.limit || 50, byCall = {}, seen = {};
    var clock = new Intl.DateTimeFormat(QA.lang === "zh" ? "zh-CN" : "en-GB",
                                        {hour: "2-digit", minute: "2-digit", second: "2-digit"});
    if (!list.hasAttribute("aria-live")) { list.setAttribute("aria-live", "polite"); }
    function link(info) {
      if (info.call_id) { return {href: "/ui/calls/" + encodeURIComponent(info.call_id), text: t("live.open_report")}; }
      return opts.liveLink ? {href: "/ui/live", text: t("live.open_live")} : null;
    }
    function setLink(li, info) {
      var old = li.querySelector("a.live-alert-link"), target = link(info);
      if (old) { li.removeChild(old); }
      if (!target) { return; }
      var a = el("a", "live-alert-link", target.text);
      a.href = target.href;
      li.appendChild(a);
    }
    function add(info, alert) {
      var key = info.session_id + "|" + alert.rule_id + "|" + alert.kind + "|" + alert.at;
      if (seen[key]) { return; }
      seen[key] = true;
      var when = (info.started_at || Date.now() / 1000) + (alert.at || 0);
      var li = el("li", "live-alert sev-" + alert.severity);
      li.dataset.when = String(when);
      li.dataset.call = info.session_id;
      li.dataset.rule = alert.rule_id;
      li.appendChild(el("strong", "live-alert-rule", alert.rule_id));
      li.appendChild(document.createTextNode(" "));
      var stamp = el("time", "muted small", clock.format(new Date(when * 1000)));
      stamp.dateTime = new Date(when * 1000).toISOString();
      li.appendChild(stamp);
      li.appendChild(el("span", "muted small", " · " + t("live.at", {time: fmt(alert.at || 0)}) + " · "));
      li.appendChild(el("span", "live-alert-call", t("live.alert_of", {agent: info.agent}) + (info.team ? " · " + info.team : "")));
      li.appendChild(el("div", "live-alert-text", alert.text || alert.explanation));
      setLink(li, info);
      var next = list.firstChild;  // newest first by the time shown (a late alert may be about an earlier moment)
      while (next && Number(next.dataset.when) > when) { next = next.nextSibling; }
      list.insertBefore(li, next);
      (byCall[info.session_id] = byCall[info.session_id] || []).push(li);
      while (list.children.length > limit) { list.removeChild(list.lastChild); }
      showEmpty(list, false);
    }
    function ended(info) { (byCall[info.session_id] || []).forEach(function (li) { setLink(li, info); }); }
    showEmpty(list, !list.children.length);
    return {alert: add, ended: ended};
  }

  window.qaLive = {connect: connect, alertList: alertList, fmt: fmt, el: el, t: t, showEmpty: showEmpty};

  // The live monitor page: a card per visible call with its latest transcript lines, and the alerts.
  var callsBox = document.getElementById("live-calls");
  var alertsBox = document.getElementById("live-alerts");
  if (!callsBox || !alertsBox) { return; }
  var cards = {};
  var alerts = alertList(alertsBox, {liveLink: false});

  function addLine(card, u) {
    var li = el("li", "live-line role-" + u.role);
    li.appendChild(el("span", "muted small", fmt(u.start) + " " + t("role.speaker." + u.role) + " "));
    li.appendChild(el("span", "", u.text));
    card.lines.appendChild(li);
    while (card.lines.children.length > 8) { card.lines.removeChild(card.lines.firstChild); }
  }
  connect({
    call: function (info) {
      var card = el("div", "live-call");
      card.head = el("div", "live-call-head", info.agent + (info.team ? " · " + info.team : ""));
      card.lines = el("ol", "live-lines");
      card.appendChild(card.head);
      card.appendChild(card.lines);
      callsBox.appendChild(card);
      cards[info.session_id] = card;
      (info.transcript || []).forEach(function (u) { addLine(card, u); });
      showEmpty(callsBox, false);
    },
    transcript: function (info, u) { addLine(cards[info.session_id], u); },
    alert: alerts.alert,
    ended: function (info) {
      var card = cards[info.session_id];
      card.head.appendChild(el("span", "muted small", " · " + t("live.ended") + " "));
      if (info.call_id) {
        var a = el("a", "", t("live.open_report"));
        a.href = "/ui/calls/" + encodeURIComponent(info.call_id);
        card.head.appendChild(a);
      }
      alerts.ended(info);
    }
  });
})();
