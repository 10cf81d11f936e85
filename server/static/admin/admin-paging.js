// A list the server reads a page at a time (players, audit): the page number, the previous and
// next buttons, and only the newest request's answer counts, so a slow answer to an older
// filter never overwrites a newer one.
import { $ } from "../dom.js";

export class PagedList {
  constructor(prevId, nextId) {
    this.page = 1;
    this.pages = 1;
    this.asked = 0;
    this.prevId = prevId;
    this.nextId = nextId;
    $(prevId).addEventListener("click", () => this.go(this.page - 1));
    $(nextId).addEventListener("click", () => this.go(this.page + 1));
  }

  reload() {
    this.page = 1;
    return this.load();
  }

  go(page) {
    if (page < 1 || page > this.pages) return;
    this.page = page;
    this.load();
  }

  // The answer for ``path``, or null when a newer request went out meanwhile.
  async fetchPage(api, path, params) {
    const asked = ++this.asked;
    const res = await api.get(path, params);
    return asked === this.asked ? res : null;
  }

  // After an answer: how many pages there are, and which buttons lead somewhere.
  showPages(page, total, size) {
    this.pages = Math.max(1, Math.ceil(total / size));
    $(this.prevId).disabled = page <= 1;
    $(this.nextId).disabled = page >= this.pages;
  }
}
