// The suggestion grid: crops drawn from Commons thumbnails, selection by keyboard.
import { placeAllCrops } from "./crops.js";

const grid = document.getElementById("grid");

function cards() {
  return [...grid.querySelectorAll("[data-card]")];
}

/** The card straight above or below `card`: the grid's columns depend on the screen. */
function vertical(card, direction) {
  const all = cards();
  const here = card.getBoundingClientRect();
  const others = all.filter((other) => {
    const box = other.getBoundingClientRect();
    return direction > 0 ? box.top > here.bottom - 2 : box.bottom < here.top + 2;
  });
  if (!others.length) return card;
  const row = direction > 0 ? others[0].getBoundingClientRect().top
    : others[others.length - 1].getBoundingClientRect().top;
  const inRow = others.filter((other) => Math.abs(other.getBoundingClientRect().top - row) < 2);
  return inRow.reduce((best, other) => {
    const distance = Math.abs(other.getBoundingClientRect().left - here.left);
    return distance < Math.abs(best.getBoundingClientRect().left - here.left) ? other : best;
  });
}

function move(card, key) {
  const all = cards();
  const index = all.indexOf(card);
  const target = {
    ArrowRight: all[Math.min(index + 1, all.length - 1)],
    ArrowLeft: all[Math.max(index - 1, 0)],
    ArrowDown: vertical(card, 1),
    ArrowUp: vertical(card, -1),
    Home: all[0],
    End: all[all.length - 1],
  }[key];
  target?.querySelector("input").focus();
}

// The "on Commons" view has no approve buttons: A does nothing there.
function submit(button) {
  button?.form.requestSubmit(button);
}

if (grid) {
  placeAllCrops(grid);
  window.addEventListener("resize", () => placeAllCrops(grid));
  grid.querySelectorAll("input.select").forEach((box) => {
    box.addEventListener("change", () => box.closest("[data-card]").classList.toggle("selected", box.checked));
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("textarea, select, input:not(.select)")) return;
    const card = event.target.closest?.("[data-card]");
    if (card && ["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) {
      event.preventDefault();
      move(card, event.key);
    } else if (!card && event.key.startsWith("Arrow")) {
      event.preventDefault();
      cards()[0]?.querySelector("input").focus();
    } else if (event.key === "A") {
      event.preventDefault();
      submit(document.querySelector("[data-action=approve-selected]"));
    } else if (event.key === "a") {
      event.preventDefault();
      submit(document.querySelector("#approve-page button[type=submit]"));
    } else if (event.key === "r" || event.key === "R") {
      event.preventDefault();
      submit(document.querySelector("[data-action=reject-selected]"));
    }
  });
}

// "Which of these are not the person?": number keys tick a face as not the person, Enter
// saves the batch (the others count as the person), each face as one answer.
const doubts = document.getElementById("doubts-form");

function doubtKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("#grid-form, .filters, a, button, textarea, select")) return;
  const boxes = [...doubts.querySelectorAll("input[name=not_person]")];
  const box = /^[1-9]$/.test(event.key) ? boxes[Number(event.key) - 1] : null;
  if (box) {
    event.preventDefault();
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change"));
  } else if (event.key === "Enter") {
    event.preventDefault();
    doubts.requestSubmit();
  }
}

if (doubts) {
  placeAllCrops(doubts);
  window.addEventListener("resize", () => placeAllCrops(doubts));
  doubts.querySelectorAll("input[name=not_person]").forEach((box) => {
    box.addEventListener("change", () => box.closest("[data-doubt]").classList.toggle("not-person", box.checked));
  });
  document.addEventListener("keydown", doubtKey);
}
