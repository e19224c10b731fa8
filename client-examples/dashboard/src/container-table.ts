/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { ContainerState, type Container } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import type { Role } from "./connection.js";
import { byId, h, replaceChildren } from "./dom.js";
import { bytesText, healthNames, millisecondsOf, portText, portUrl, stateNames, statusText } from "./format.js";
import type { StatsFeed } from "./stats-feed.js";

export type Action = "stop" | "start" | "restart" | "remove";
export type SortKey = "name" | "image" | "state" | "status" | "health" | "ports" | "cpu" | "memory";

export interface RowResult {
  ok: boolean;
  text: string;
}

export interface TableHandlers {
  act(action: Action, ids: string[]): void;
  logs(containers: Container[]): void;
  inspect(container: Container): void;
}

const sortValue = (stats: StatsFeed): Record<SortKey, (c: Container) => string | number> => ({
  name: (c) => c.name.toLowerCase(),
  image: (c) => c.image.toLowerCase(),
  state: (c) => stateNames[c.state],
  // Running ones by how long they run; the others after them, by when they ended.
  status: (c) => (c.state === ContainerState.RUNNING ? -(millisecondsOf(c.startedAt) ?? 0) : (millisecondsOf(c.finishedAt) ?? 0)),
  health: (c) => healthNames[c.health],
  ports: (c) => c.ports[0]?.hostPort ?? 0,
  cpu: (c) => stats.usage.get(c.id)?.cpuPercent ?? -1,
  memory: (c) => stats.usage.get(c.id)?.memoryBytes ?? -1,
});

/**
 * The container table: sortable columns, filters by name, label and state,
 * per-row and bulk actions, and the outcome of the last action on each row.
 * It redraws from the store's data at most once a frame.
 */
export class ContainerTable {
  role: Role = "unknown";
  readonly results = new Map<string, RowResult>();
  private readonly selected = new Set<string>();
  private sortKey: SortKey = "name";
  private descending = false;
  private frame: number | undefined;
  private visible: Container[] = [];
  /**
   * Drawn rows by container id, with what they show apart from the figures
   * that change every second (status, CPU, memory), which are updated in
   * place. A row is replaced only when something else changed: stats arrive
   * every second, and a button replaced between mouse down and up loses the click.
   */
  private drawn = new Map<string, { row: HTMLTableRowElement; signature: string }>();

  private readonly body = byId("container-rows");
  private readonly summary = byId("table-summary");
  private readonly nameFilter = byId<HTMLInputElement>("filter-name");
  private readonly labelFilter = byId<HTMLInputElement>("filter-label");
  private readonly stateFilter = byId<HTMLSelectElement>("filter-state");
  private readonly selectAll = byId<HTMLInputElement>("select-all");

  constructor(
    private readonly containers: Map<string, Container>,
    private readonly stats: StatsFeed,
    private readonly handlers: TableHandlers,
  ) {
    for (const input of [this.nameFilter, this.labelFilter, this.stateFilter]) input.addEventListener("input", () => this.schedule());
    for (const button of document.querySelectorAll<HTMLButtonElement>("#containers th button[data-sort]")) {
      button.addEventListener("click", () => this.sortBy(button.dataset.sort as SortKey));
    }
    this.selectAll.addEventListener("change", () => {
      for (const container of this.visible) {
        if (this.selectAll.checked) this.selected.add(container.id);
        else this.selected.delete(container.id);
      }
      this.schedule();
    });
    for (const button of document.querySelectorAll<HTMLButtonElement>("#bulk-actions button[data-action]")) {
      button.addEventListener("click", () => {
        const ids = this.selectedIds();
        if (ids.length > 0) this.handlers.act(button.dataset.action as Action, ids);
      });
    }
    byId("bulk-logs").addEventListener("click", () => {
      const chosen = this.selectedIds().map((id) => this.containers.get(id)!);
      if (chosen.length > 0) this.handlers.logs(chosen);
    });
    // Uptimes move on without any call to the server.
    setInterval(() => this.schedule(), 30_000);
  }

  schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.render();
    });
  }

  private selectedIds(): string[] {
    return [...this.selected].filter((id) => this.containers.has(id));
  }

  private sortBy(key: SortKey): void {
    this.descending = this.sortKey === key ? !this.descending : false;
    this.sortKey = key;
    for (const th of document.querySelectorAll<HTMLElement>("#containers th[data-column]")) {
      th.setAttribute("aria-sort", th.dataset.column === key ? (this.descending ? "descending" : "ascending") : "none");
    }
    this.schedule();
  }

  private matches(container: Container): boolean {
    const name = this.nameFilter.value.trim().toLowerCase();
    if (name && !container.name.toLowerCase().includes(name) && !container.id.startsWith(name)) return false;
    const state = this.stateFilter.value;
    if (state === "active" && container.state !== ContainerState.RUNNING && container.state !== ContainerState.RESTARTING && container.state !== ContainerState.PAUSED) return false;
    if (state !== "" && state !== "active" && stateNames[container.state] !== state) return false;
    // `key` or `key=value`, several separated by commas or spaces: all must match.
    for (const term of this.labelFilter.value.split(/[\s,]+/).filter(Boolean)) {
      const equals = term.indexOf("=");
      const key = equals === -1 ? term : term.slice(0, equals);
      if (!(key in container.labels)) return false;
      if (equals !== -1 && container.labels[key] !== term.slice(equals + 1)) return false;
    }
    return true;
  }

  render(): void {
    const now = Date.now();
    const key = sortValue(this.stats)[this.sortKey];
    const direction = this.descending ? -1 : 1;
    this.visible = [...this.containers.values()]
      .filter((c) => this.matches(c))
      .sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name)) * direction;
      });
    for (const id of this.selected) if (!this.containers.has(id)) this.selected.delete(id);
    // Redrawing replaces the buttons: keep the keyboard focus where it was.
    const focused = document.activeElement instanceof HTMLElement && this.body.contains(document.activeElement) ? document.activeElement : undefined;
    const focusKey = focused ? `${focused.closest("tr")?.dataset.id}|${focused.dataset.action ?? focused.tagName}` : undefined;
    const rows = this.visible.map((c) => this.rowFor(c, now));
    const current = [...this.body.children];
    if (current.length !== rows.length || rows.some((row, index) => current[index] !== row)) replaceChildren(this.body, ...rows);
    for (const id of this.drawn.keys()) if (!this.containers.has(id)) this.drawn.delete(id);
    if (this.visible.length === 0) {
      this.body.appendChild(h("tr", {}, h("td", { colspan: 11, class: "empty" }, this.containers.size === 0 ? "No containers yet: run one with the form below." : "No container matches the filters.")));
    }
    if (focusKey) {
      const [id, action] = focusKey.split("|");
      const row = this.body.querySelector<HTMLElement>(`tr[data-id="${CSS.escape(id ?? "")}"]`);
      const target = row && ([...row.querySelectorAll<HTMLElement>("button, input, a")].find((el) => (el.dataset.action ?? el.tagName) === action) ?? row.querySelector("input"));
      target?.focus();
    }
    const selectedCount = this.selectedIds().length;
    this.selectAll.checked = this.visible.length > 0 && this.visible.every((c) => this.selected.has(c.id));
    this.selectAll.indeterminate = !this.selectAll.checked && this.visible.some((c) => this.selected.has(c.id));
    const readOnly = this.role === "viewer";
    for (const button of document.querySelectorAll<HTMLButtonElement>("#bulk-actions button")) {
      button.disabled = selectedCount === 0 || (readOnly && button.dataset.action !== undefined);
    }
    byId("bulk-count").textContent = `${selectedCount} selected`;
    this.summary.textContent = `${this.visible.length} of ${this.containers.size} containers shown`;
  }

  /** The drawn row, brought up to date; a new one when more than its moving figures changed. */
  private rowFor(container: Container, now: number): HTMLTableRowElement {
    const signature = JSON.stringify([
      container.name,
      container.image,
      container.imageId,
      container.state,
      container.health,
      container.error,
      container.ports.map((p) => [p.hostIp, p.hostPort, p.containerPort, p.protocol]),
      this.selected.has(container.id),
      this.results.get(container.id),
      this.role,
      this.stats.supported,
    ]);
    let drawn = this.drawn.get(container.id);
    if (drawn?.signature !== signature) {
      drawn = { row: this.row(container), signature };
      this.drawn.set(container.id, drawn);
    }
    this.updateFigures(drawn.row, container, now);
    return drawn.row;
  }

  private updateFigures(row: HTMLTableRowElement, container: Container, now: number): void {
    const usage = this.stats.usage.get(container.id);
    const noStats = this.stats.supported ? "" : "n/a";
    const set = (selector: string, text: string, title?: string) => {
      const cell = row.querySelector<HTMLElement>(selector)!;
      if (cell.textContent !== text) cell.textContent = text;
      if (title === undefined) cell.removeAttribute("title");
      else cell.title = title;
    };
    set(".status", statusText(container, now), container.error || undefined);
    set(".cpu", usage?.cpuPercent === undefined ? noStats || (usage ? "…" : "") : `${usage.cpuPercent.toFixed(1)}%`);
    set(".memory", usage ? bytesText(usage.memoryBytes) : noStats, usage ? `${usage.memoryPercent.toFixed(1)}% of ${bytesText(usage.memoryLimitBytes)}` : undefined);
  }

  private row(container: Container): HTMLTableRowElement {
    const state = stateNames[container.state];
    const running = container.state === ContainerState.RUNNING || container.state === ContainerState.RESTARTING || container.state === ContainerState.PAUSED;
    const readOnly = this.role === "viewer";
    const why = readOnly ? "Your token has the viewer role: read-only" : undefined;
    const action = (name: Action, label: string, hidden = false) =>
      hidden
        ? null
        : h(
            "button",
            {
              type: "button",
              "data-action": name,
              disabled: readOnly,
              title: why,
              "aria-label": `${label} ${container.name}`,
              onclick: () => this.handlers.act(name, [container.id]),
            },
            label,
          );
    const checkbox = h("input", {
      type: "checkbox",
      "aria-label": `Select ${container.name}`,
      checked: this.selected.has(container.id),
      onchange: (event: Event) => {
        if ((event.target as HTMLInputElement).checked) this.selected.add(container.id);
        else this.selected.delete(container.id);
        this.schedule();
      },
    });
    const result = this.results.get(container.id);
    const health = healthNames[container.health];
    return h(
      "tr",
      { "data-id": container.id, "data-name": container.name, "data-state": state },
      h("td", {}, checkbox),
      h("th", { scope: "row", class: "name", title: container.id }, container.name, h("span", { class: "short-id" }, container.id.slice(0, 12))),
      h("td", { class: "image", title: container.imageId }, container.image),
      h("td", {}, h("span", { class: `state state-${state}` }, state)),
      h("td", { class: "status" }),
      h("td", {}, health ? h("span", { class: `health health-${health}` }, health) : "—"),
      h(
        "td",
        { class: "ports" },
        ...container.ports.map((port) => {
          const url = portUrl(port);
          return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, portText(port)) : h("span", {}, portText(port));
        }),
      ),
      h("td", { class: "cpu" }),
      h("td", { class: "memory" }),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", "data-action": "logs", "aria-label": `Logs of ${container.name}`, onclick: () => this.handlers.logs([container]) }, "Logs"),
        h("button", { type: "button", "data-action": "inspect", "aria-label": `Inspect ${container.name}`, onclick: () => this.handlers.inspect(container) }, "Inspect"),
        action("stop", "Stop", !running),
        action("start", "Start", running),
        action("restart", "Restart"),
        action("remove", "Remove"),
      ),
      h("td", { class: `result ${result ? (result.ok ? "ok" : "failed") : ""}` }, result?.text ?? ""),
    );
  }
}
