// Who a player is, in words an operator reads: the player's name, with a short id beside it
// only where two players share a name. SPEC §3 allows equal names, so a player renamed to
// another's exact name (or the same letters in another case) must never pass for that player:
// every list that shows players (the table, the detail, the cases, the audit, the events)
// teaches this book the names it read, and when a name turns out to be shared the lists are
// drawn again with the short ids. Where a list has only an id (an audit entry written before
// the server named its targets), the name the book learned elsewhere stands in for it, and the
// lists are drawn again when a name for such an id arrives.

export const shortId = (id) => String(id ?? "").slice(0, 8);

// Names that differ only in case, width or spacing look alike on screen: compare them as one.
const sameLooking = (name) => String(name).normalize("NFKC").trim().toLowerCase();

export class NameBook {
  constructor() {
    this.byId = new Map(); // id -> the latest name seen
    this.idsByName = new Map(); // sameLooking(name) -> Set of ids
    this.listeners = new Set();
    this.unnamed = new Set(); // ids shown without a name
  }

  // Learn [id, name] pairs (a name may be null: nothing learned). Tells the listeners once
  // when a name became shared or an id shown without a name got one, so what they show
  // changes with it.
  learn(pairs) {
    let changed = false;
    for (const [id, name] of pairs) {
      if (!id || typeof name !== "string" || !name) continue;
      const before = this.byId.get(id);
      if (before === name) continue;
      if (this.unnamed.delete(id)) changed = true;
      if (before !== undefined) this.idsByName.get(sameLooking(before))?.delete(id);
      this.byId.set(id, name);
      const key = sameLooking(name);
      const ids = this.idsByName.get(key) || new Set();
      ids.add(id);
      this.idsByName.set(key, ids);
      if (ids.size === 2) changed = true;
    }
    if (changed) for (const listener of this.listeners) listener();
  }

  // fn() runs after a learn() that changed how a shown player is labelled.
  onChange(fn) {
    this.listeners.add(fn);
  }

  name(id, given) {
    return typeof given === "string" && given ? given : this.byId.get(id) || null;
  }

  shared(name) {
    const ids = this.idsByName.get(sameLooking(name));
    return Boolean(ids && ids.size > 1);
  }

  // "Bob", "Bob (1a2b3c4d)" when another player is called Bob too, or "player 1a2b3c4d" when
  // no name is known.
  label(id, given) {
    const name = this.name(id, given);
    if (!name) {
      this.unnamed.add(id);
      return `player ${shortId(id)}`;
    }
    return this.shared(name) ? `${name} (${shortId(id)})` : name;
  }
}

// The page's one book.
export const names = new NameBook();
