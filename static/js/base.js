// Small behaviours shared by every page. No inline scripts: a strict CSP holds.
document.querySelectorAll("[data-autosubmit]").forEach((element) => {
  element.addEventListener("change", () => element.form.submit());
});

// An image from Commons that cannot be loaded (a deleted file, no network) is hidden
// rather than shown as a broken icon.
document.querySelectorAll("img[data-hide-broken]").forEach((image) => {
  const hide = () => { image.closest("figure")?.setAttribute("hidden", ""); image.hidden = true; };
  if (image.complete && image.naturalWidth === 0) hide();
  image.addEventListener("error", hide);
});
