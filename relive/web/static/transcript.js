// One mode's transcript on the page.
//
// The backend sends the newest turns (`recent`) with the absolute index of the first of them
// (`folded_turns`). The page keeps every turn it has seen, so a live conversation never folds:
// only turns this page never received (it came back after missing more than the backend sends)
// show as one "Earlier" line, which expands by asking the backend for the whole history.
// The list scrolls inside its panel and follows the newest turn unless the user scrolled up.
// A turn is added for screen readers (aria-live="polite", additions) once, when it is final.
// A partial reply that a reconnect cut ("void": its turn was asked again) is hidden.

export class TranscriptView {
  constructor(list, hint, onExpand) {
    this.list = list;
    this.hint = hint;
    this.onExpand = onExpand; // asks the backend for the full history
    this.turns = []; // absolute index -> turn ({role, text, interrupted, final})
    this.items = []; // absolute index -> <li>
    this.earlier = null; // the folded "Earlier" <li>, when the page lacks older turns
    this.stick = true; // follow the newest turn
    this.used = false; // a turn was shown: the first-load hint has done its job
    list.addEventListener("scroll", () => {
      this.stick = this.atBottom();
    });
  }

  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 32;
  }

  /** A `transcript` message: the newest turns, from absolute index `folded_turns`. */
  update(msg) {
    const first = msg.folded_turns;
    this.truncate(first + msg.recent.length); // anything later belonged to an ended session
    msg.recent.forEach((turn, i) => this.put(first + i, turn));
    this.fold(first, msg.summary, true);
    this.settle();
  }

  /** A `history` message: every turn the backend still holds verbatim. */
  fill(msg) {
    msg.turns.forEach((turn, i) => this.put(msg.folded_turns + i, turn));
    this.fold(msg.folded_turns, msg.summary, false);
    this.settle();
  }

  clear() {
    this.turns = [];
    this.items = [];
    this.earlier = null;
    this.list.replaceChildren();
    this.stick = true;
    this.settle();
  }

  /** The panel became visible again: catch up with the newest turn if following. */
  reveal() {
    if (this.stick) this.list.scrollTop = this.list.scrollHeight;
  }

  get count() {
    return this.turns.filter(Boolean).length;
  }

  truncate(end) {
    for (let i = end; i < this.items.length; i++) this.items[i]?.remove();
    this.turns.length = Math.min(this.turns.length, end);
    this.items.length = Math.min(this.items.length, end);
  }

  put(index, turn) {
    const old = this.turns[index];
    if (old && old.text === turn.text && old.final === turn.final &&
        old.interrupted === turn.interrupted && old.role === turn.role &&
        old.void === turn.void) return;
    this.turns[index] = turn;
    const li = this.items[index];
    if (li && !(turn.final && li.getAttribute("aria-hidden") === "true")) {
      render(li, turn); // a streaming turn grows in place, silently
      return;
    }
    // New, or just final: a fresh element, so the live region announces it once and whole.
    const fresh = render(document.createElement("li"), turn);
    if (li) li.replaceWith(fresh);
    else this.list.insertBefore(fresh, this.nextItem(index));
    this.items[index] = fresh;
  }

  nextItem(index) {
    for (let i = index + 1; i < this.items.length; i++) if (this.items[i]) return this.items[i];
    return null;
  }

  /** Show what the page lacks before `first` as one folded line (expandable when asked). */
  fold(first, summary, expandable) {
    let missing = 0;
    for (let i = 0; i < first; i++) if (!this.turns[i]) missing++;
    if (!missing) {
      this.earlier?.remove();
      this.earlier = null;
      return;
    }
    if (!this.earlier) {
      this.earlier = document.createElement("li");
      this.earlier.className = "earlier";
      this.list.prepend(this.earlier);
    }
    const details = document.createElement("details");
    const head = document.createElement("summary");
    head.textContent = `Earlier: ${missing} turn${missing === 1 ? "" : "s"}`;
    const text = document.createElement("p");
    text.className = "summary";
    text.textContent = summary || "";
    details.append(head, text);
    if (expandable) {
      details.addEventListener("toggle", () => {
        if (details.open) this.onExpand();
      });
    } else {
      details.open = true;
    }
    this.earlier.replaceChildren(details);
  }

  settle() {
    this.used ||= this.turns.some(Boolean) || this.earlier !== null;
    this.hint.hidden = this.used;
    if (this.stick) this.list.scrollTop = this.list.scrollHeight;
  }
}

function render(li, turn) {
  li.className = `turn ${turn.role}`;
  if (!turn.final) li.classList.add("streaming");
  if (turn.interrupted) li.classList.add("interrupted");
  li.dataset.role = turn.role;
  li.textContent = turn.text;
  // A partial reply a reconnect cut: the conversation does not hold it (the turn was asked
  // again and its whole answer follows), so it is not shown.
  li.hidden = Boolean(turn.void);
  li.classList.toggle("void", Boolean(turn.void));
  if (turn.final) li.removeAttribute("aria-hidden");
  else li.setAttribute("aria-hidden", "true");
  return li;
}
