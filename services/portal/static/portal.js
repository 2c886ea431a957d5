// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The installment count: a list of the allowed counts only (a gap is never offered).
  const counts = document.getElementById("echeances");
  if (counts && counts.tagName === "SELECT") {
    // − / + move to the previous / next allowed count here instead of submitting the form (they
    // submit without JavaScript, and the server steps over a gap the same way).
    document.querySelectorAll("button.pas").forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        const next = counts.selectedIndex + Number(button.dataset.pas);
        counts.selectedIndex = Math.min(counts.options.length - 1, Math.max(0, next));
        counts.focus();
      });
    });
  }
  // The modality page: the guarantee commitment only matters for installments.
  const inst = document.getElementById("m-inst");
  const bloc = document.getElementById("bloc-garanties");
  if (inst && bloc) {
    const sync = () => { bloc.hidden = !inst.checked; };
    document.querySelectorAll('input[name="modalite"]').forEach((r) => r.addEventListener("change", sync));
    sync();
  }
  // After a simulation, bring the result into view and announce it to screen readers.
  const result = document.getElementById("resultat");
  if (result) { result.scrollIntoView({ block: "start" }); result.focus({ preventScroll: true }); }
});
