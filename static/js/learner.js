// The learner's figures (precision, recall, the score chart), drawn again while the page is
// open: every page that shows them asks whether the learner has run since, and takes the
// server's new drawing when it has (the figures follow one rule, projects/figures.py).
import { requestJson } from "./http.js";

const PERIOD = 2000;  // an answer given in another tab shows here within about 3 s
const IDLE = 20000;  // after a failure (offline, logged out): quietly, and less often

async function refresh(panel) {
  const { ok, data } = await requestJson(panel.dataset.learnerUrl + encodeURIComponent(panel.dataset.version));
  if (!ok || data.html === undefined) return;
  const open = panel.querySelector("details")?.open;
  panel.innerHTML = data.html;
  panel.dataset.version = data.version;
  const details = panel.querySelector("details");
  if (details && open) details.open = true;
}

function watch(panel) {
  const poll = async () => {
    let delay = PERIOD;
    try {
      await refresh(panel);
    } catch {
      delay = IDLE;
    }
    if (!document.hidden) setTimeout(poll, delay);
    else document.addEventListener("visibilitychange", () => poll(), { once: true });
  };
  setTimeout(poll, PERIOD);
}

document.querySelectorAll("[data-learner-url]").forEach(watch);
