// Keyboard shortcuts for the desk. Every action is also a plain form button: this only clicks them.
(() => {
  "use strict";
  const rows = () => Array.from(document.querySelectorAll("[data-row]"));
  let current = -1;

  function focusRow(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    const row = all[current];
    row.scrollIntoView({ block: "nearest" });
    const link = row.querySelector("[data-open]");
    if (link) link.focus({ preventScroll: true });
  }

  function scope() {
    const all = rows();
    return current >= 0 && all[current] ? all[current] : null;
  }

  // In a list, a key acts on the current row only (or on a page-wide button such as
  // "Merge ticked"); on a story page it acts on the page's own button.
  function press(key) {
    const selector = `[data-key="${key}"]`;
    let target;
    if (rows().length) {
      const row = scope();
      target = (row && row.querySelector(selector)) || document.querySelector(`${selector}[data-global]`);
    } else {
      target = document.querySelector(selector);
    }
    if (target) { target.click(); return true; }
    return false;
  }

  function toggleHelp(show) {
    const help = document.getElementById("help");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    const button = document.querySelector("[data-help]");
    if (button) button.setAttribute("aria-expanded", String(!help.hidden));
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help]")) toggleHelp();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") { toggleHelp(false); if (typing) typing.blur(); return; }
    if (typing) return;
    const key = event.key;
    if (key === "Enter" && event.target.closest("a, button")) return; // the element's own action
    let handled = true;
    if (key === "j") focusRow(current + 1);
    else if (key === "k") focusRow(current - 1);
    else if ((key === "o" || key === "Enter") && scope()) {
      const link = scope().querySelector("[data-open]");
      if (link) window.location.href = link.href; else handled = false;
    } else if (key === "x" && scope()) {
      const box = scope().querySelector("[data-tick]");
      if (box) box.checked = !box.checked;
    } else if (key === "/") {
      const search = document.querySelector("[data-search]");
      if (search) search.focus();
    } else if (key === "b") {
      const link = document.querySelector("[data-back]");
      if (link) window.location.href = link.href; else handled = false;
    } else if (key === "?") toggleHelp();
    else handled = press(key);
    if (handled) event.preventDefault();
  });

  // Come back to the row the editor acted on (the day view's URL carries #story-N).
  const anchor = window.location.hash.match(/^#story-(\d+)$/);
  if (anchor) {
    const index = rows().findIndex((row) => row.id === `story-${anchor[1]}`);
    if (index >= 0) focusRow(index);
  }
})();
