// Toasts: short notices over the bottom of the conversation, above the composer, never over a
// control. Each has a Dismiss button (keyboard reachable) and goes by itself after TOAST_MS,
// unless the pointer or the focus is on it. The container is aria-live="polite".

const TOAST_MS = window.RELIVE_TOAST_MS || 4000; // tests shorten it with an init script

export function createToasts(container, stats) {
  function remove(el) {
    clearTimeout(el.timer);
    el.remove();
  }

  function arm(el) {
    clearTimeout(el.timer);
    el.timer = setTimeout(() => remove(el), TOAST_MS);
  }

  return function toast(text, level = "info") {
    stats.toasts.push({ text, level });
    for (const shown of container.children) {
      if (shown.dataset.text === text) return arm(shown); // no repeats: the shown one stays longer
    }
    const el = document.createElement("div");
    el.className = `toast ${level}`;
    el.dataset.level = level;
    el.dataset.text = text;
    const span = document.createElement("span");
    span.className = "text";
    span.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss";
    close.setAttribute("aria-label", `Dismiss: ${text}`);
    close.addEventListener("click", () => remove(el));
    el.append(span, close);
    // Kept while the user reads or tabs to it; goes TOAST_MS after they leave.
    el.addEventListener("pointerenter", () => clearTimeout(el.timer));
    el.addEventListener("pointerleave", () => arm(el));
    el.addEventListener("focusin", () => clearTimeout(el.timer));
    el.addEventListener("focusout", () => arm(el));
    el.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") remove(el);
    });
    container.append(el);
    arm(el);
  };
}
