// The project page: progress, counts and the workers' health, polled while work goes on.
import { requestJson } from "./http.js";

const section = document.getElementById("progress");
const FAST = 3000;
const SLOW = 20000;

function show(data) {
  section.closest("main").querySelectorAll("[data-key]").forEach((element) => {
    const value = data[element.dataset.key];
    if (value !== undefined && value !== null) element.textContent = value;
    else if (element.dataset.key === "phase") element.textContent = "";
  });
  const bars = { processed: ["processed", "images"], answered: ["answered", "faces"] };
  section.querySelectorAll("progress[data-bar]").forEach((bar) => {
    const [value, max] = bars[bar.dataset.bar];
    bar.max = Math.max(data[max], 1);
    bar.value = data[value];
  });
  document.getElementById("stalled").hidden = !data.stalled;
}

async function poll() {
  let delay = SLOW;
  try {
    const { ok, data } = await requestJson(section.dataset.statusUrl);
    if (ok) {
      show(data);
      delay = data.detecting || data.crawling ? FAST : SLOW;
    }
  } catch {
    delay = SLOW;  // offline or logged out: try again later, quietly
  }
  if (!document.hidden) setTimeout(poll, delay);
  else document.addEventListener("visibilitychange", () => poll(), { once: true });
}

if (section) setTimeout(poll, FAST);
