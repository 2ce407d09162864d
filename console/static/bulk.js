// Ticking violations on the list for one decision: "select all" ticks every one on the page, the
// count says how many are ticked, and the buttons wait until at least one is.
(() => {
  const form = document.getElementById("bulk");
  const all = document.getElementById("select-all");
  const count = document.getElementById("selected-count");
  if (!form || !all) return;
  const picks = () => Array.from(document.querySelectorAll('input.pick[form="bulk"]'));
  const buttons = form.querySelectorAll('button[type="submit"]');
  const show = () => {
    const ticked = picks().filter((p) => p.checked).length;
    count.textContent = `${ticked} of ${picks().length} selected`;
    all.checked = ticked > 0 && ticked === picks().length;
    all.indeterminate = ticked > 0 && ticked < picks().length;
    buttons.forEach((b) => {
      b.disabled = ticked === 0;
    });
    document.querySelectorAll("#violations .item").forEach((item) => {
      const pick = item.querySelector("input.pick");
      item.classList.toggle("picked", Boolean(pick && pick.checked));
    });
  };
  all.addEventListener("change", () => {
    picks().forEach((p) => {
      p.checked = all.checked;
    });
    show();
  });
  picks().forEach((p) => p.addEventListener("change", show));
  show();
})();
