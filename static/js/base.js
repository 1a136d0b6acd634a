// Small behaviours shared by every page. No inline scripts: a strict CSP holds.
document.querySelectorAll("[data-autosubmit]").forEach((element) => {
  element.addEventListener("change", () => element.form.submit());
});
