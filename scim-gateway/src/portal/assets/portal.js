// The admin portal's only script (served from the portal's own origin; the CSP allows no
// inline script): copy buttons, and a confirmation before a destructive form is sent.
"use strict";
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("button[data-copy]");
  if (copy) {
    const field = document.getElementById(copy.dataset.copy);
    if (!field) return;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      document.execCommand("copy");
    }
    copy.textContent = "Copied";
    copy.setAttribute("aria-live", "polite");
    setTimeout(() => { copy.textContent = "Copy"; }, 2000);
  }
});
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
