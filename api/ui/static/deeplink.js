/* Call page deep link: /ui/calls/<id>#t=<seconds> (search hits link here) plays the recording from that moment
   and marks the utterance spoken then; a call scored from a transcript only gets the mark. */
"use strict";
(() => {
let current = null;

function moment() {
  const m = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

function go() {
  const t = moment();
  if (current === null || t === null) return;
  if (current.call.audio_url) current.seek(t);
  const utts = [...document.querySelectorAll("#transcript .utt")];
  const utt = utts.find((el) => Number(el.dataset.start) <= t + 0.01 && t < Number(el.dataset.end))
    || utts.find((el) => Number(el.dataset.start) >= t);
  if (!utt) return;
  utts.forEach((el) => el.classList.remove("playing"));
  utt.classList.add("playing");
  utt.scrollIntoView({block: "center"});
}

document.addEventListener("qa:call", (e) => { current = e.detail; go(); });
window.addEventListener("hashchange", go);
})();
