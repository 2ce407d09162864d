// The keyboard on a violation's page: c confirms, x or f dismisses as a false positive (each then
// opens the next violation of the list the reviewer came from), j / → and k / ← move to the next
// and previous one, Esc goes back to the list. The forms and links do the work, so every key has a
// button or link that does the same without JavaScript.
(() => {
  const go = (id) => {
    const link = document.getElementById(id);
    if (!link || !link.href) return false; // the first or last of the list
    window.location.assign(link.href);
    return true;
  };
  const decide = (formId) => {
    const form = document.getElementById(formId);
    if (!form) return false; // a viewer's page has no review forms
    form.querySelector('input[name="advance"]').value = "1";
    form.requestSubmit();
    return true;
  };
  const keys = {
    c: () => decide("review-confirm"),
    x: () => decide("review-dismiss"),
    f: () => decide("review-dismiss"),
    j: () => go("next"),
    ArrowRight: () => go("next"),
    k: () => go("newer"),
    ArrowLeft: () => go("newer"),
    Escape: () => go("back"),
  };
  let busy = false; // one decision per page: a held key must not post twice
  document.addEventListener("keydown", (event) => {
    if (busy || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (event.target.closest && event.target.closest("input, select, textarea, [contenteditable]")) return;
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    busy = action();
  });
})();
