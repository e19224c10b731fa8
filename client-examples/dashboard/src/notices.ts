/// <reference lib="dom" />
import { byId, h } from "./dom.js";
import { describeError } from "./errors.js";

/** Messages for the person at the page: errors in words, with the code name and every bad field. */
export class Notices {
  private readonly list = byId("notices");

  info(text: string): void {
    this.add(h("li", { class: "notice info" }, text));
  }

  error(what: string, error: unknown): void {
    const { code, message, violations } = describeError(error);
    const item = h(
      "li",
      { class: "notice error", role: "alert" },
      h("strong", {}, `${what}: `),
      code ? h("code", { class: "code" }, code) : null,
      code ? " " : null,
      message,
    );
    if (violations.length > 0) {
      item.appendChild(h("ul", { class: "violations" }, ...violations.map((v) => h("li", {}, h("code", {}, v.field), ` ${v.description}`))));
    }
    this.add(item);
  }

  private add(item: HTMLLIElement): void {
    const dismiss = h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss message" }, "×");
    dismiss.addEventListener("click", () => item.remove());
    item.appendChild(dismiss);
    this.list.prepend(item);
    // The list keeps the latest few; older messages are in the browser console's network log anyway.
    while (this.list.children.length > 8) this.list.lastElementChild?.remove();
  }
}
