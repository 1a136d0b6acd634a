// The uploads page: crops drawn from Commons thumbnails; arrows move between suggestions,
// Y and N answer the one in focus (each card is a form: the page works without this script).
import { placeAllCrops } from "./crops.js";

const list = document.getElementById("uploads");

function cards() {
  return [...list.querySelectorAll("[data-upload-card]")];
}

function answer(card, verdict) {
  card.requestSubmit(card.querySelector(`button[name=verdict][value=${verdict}]`));
}

if (list) {
  placeAllCrops(list);
  window.addEventListener("resize", () => placeAllCrops(list));
  cards()[0]?.focus();
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("textarea, select, input")) return;
    const all = cards();
    const card = event.target.closest?.("[data-upload-card]") || all[0];
    if (!card) return;
    const index = all.indexOf(card);
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (step) {
      event.preventDefault();
      all[Math.min(Math.max(index + step, 0), all.length - 1)].focus();
    } else if (event.key === "y" || event.key === "Y") {
      event.preventDefault();
      answer(card, "yes");
    } else if (event.key === "n" || event.key === "N") {
      event.preventDefault();
      answer(card, "no");
    }
  });
}
