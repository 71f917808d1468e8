// Tend's own script: progressive enhancement only, every page works
// without it. Loaded from this origin, as the content security policy
// requires (no inline script).

// Copy buttons: <button data-copy="ID" hidden> copies the text of the
// element with that id. They stay hidden without JavaScript, where the
// text is still selectable (user-select: all).
document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("button[data-copy]")) {
    if (navigator.clipboard) b.hidden = false;
  }
});
document.addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-copy]");
  if (!b) return;
  const el = document.getElementById(b.dataset.copy);
  if (!el) return;
  try {
    await navigator.clipboard.writeText(el.textContent.trim());
    b.textContent = "Copied";
  } catch {
    // Clipboard access needs HTTPS or localhost: select the text instead.
    const r = document.createRange();
    r.selectNodeContents(el);
    const s = getSelection();
    s.removeAllRanges();
    s.addRange(r);
    b.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => { b.textContent = "Copy"; }, 2000);
});
