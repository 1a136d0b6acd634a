// The bell in the top bar counts unread notifications while the page stays open: it polls as
// the project page polls its progress (requestJson, paused while the tab is hidden).
import { requestJson, SessionEnded } from "./http.js";

const bell = document.getElementById("notifications-bell");
const EVERY = 5000;

function show({ unread, label }) {
  bell.dataset.unread = String(unread);
  bell.classList.toggle("unread", unread > 0);
  let count = bell.querySelector(".unread-count");
  if (!unread) { count?.remove(); return; }
  if (!count) {
    count = document.createElement("span");
    count.className = "unread-count";
    bell.append(" ", count);
  }
  count.textContent = String(unread);
  count.setAttribute("aria-label", label);
}

async function poll() {
  try {
    const { ok, data } = await requestJson(bell.dataset.countUrl);
    if (ok) show(data);
  } catch (error) {
    if (error instanceof SessionEnded) return;  // logged out: the next page says so
  }
  if (!document.hidden) setTimeout(poll, EVERY);
  else document.addEventListener("visibilitychange", () => poll(), { once: true });
}

if (bell?.dataset.countUrl) setTimeout(poll, EVERY);
