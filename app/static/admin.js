// The pages' behaviour, kept out of the HTML so the Content-Security-Policy needs no inline script.
// Loaded (deferred) by every page; each part does nothing where its elements are absent.

// Copy buttons: data-copy names the readonly field whose value to copy.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(() => {});
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input[readonly]")) event.target.select();
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// A table wider than its card scrolls inside it: make that region reachable by keyboard
// (and named for screen readers), only while it actually scrolls.
function markScrollableTables() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      const heading = wrap.closest(".card")?.querySelector("h1, h2");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "table, scrolls sideways");
    } else if (wrap.hasAttribute("tabindex")) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  }
}
markScrollableTables();
window.addEventListener("resize", markScrollableTables);

// A filter box that would fill a phone's first screen starts folded there (when no filter is
// set): the results come first, the box opens with one tap.
for (const box of document.querySelectorAll("details[data-fold-narrow='yes']")) {
  if (window.matchMedia("(max-width: 40rem)").matches) box.open = false;
}
