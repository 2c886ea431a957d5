// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const range = document.getElementById("echeances");
  const output = document.getElementById("echeances-valeur");
  if (range && output) {
    const show = () => { output.textContent = range.value; };
    range.addEventListener("input", show);
    // − / + change the count here instead of submitting the form (they submit without JavaScript).
    document.querySelectorAll("button.pas").forEach((button) => {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        const next = Number(range.value) + Number(button.dataset.pas);
        range.value = String(Math.min(Number(range.max), Math.max(Number(range.min), next)));
        show();
        range.focus();
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
