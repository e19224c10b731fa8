/// <reference lib="dom" />
import { LogStream } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import type { OsirisClient } from "./connection.js";
import { append, byId, h, replaceChildren } from "./dom.js";
import { errorLine, isNetworkFailure, isOwnCancel } from "./errors.js";
import { LineSplitter, LogStore, splitAround, type LogLine } from "./log-store.js";

interface Source {
  id: string;
  name: string;
  stream: AbortController;
  state: "loading" | "following" | "ended" | "failed";
  detail: string;
}

/**
 * Browsers open at most six HTTP/1.1 connections to one origin, and every
 * followed log holds one, as do the table's event and stats streams: more
 * merged containers would starve the page's other calls (HTTP/2 over TLS has
 * no such limit, but Osiris serves cleartext as HTTP/1.1 to browsers).
 */
export const maxMergedContainers = 3;
/** Past this many lines the oldest are dropped: the scroll area's height (lines x row height) has a ceiling in every browser. */
const maxLines = 1_000_000;
/** Rows drawn beyond each edge of the visible area, so a fast scroll does not show blank rows before the next frame. */
const overscan = 20;

/**
 * A virtualised log view: however many lines it holds, it draws only the
 * rows in sight (about fifty elements), laid out at a fixed row height inside
 * a spacer as tall as all the lines would be.
 */
export class LogViewer {
  private readonly store = new LogStore();
  private sources: Source[] = [];
  private held: Omit<LogLine, "sequence">[] = [];
  private frame: number | undefined;
  private rowHeight = 18;
  private paused = false;
  private following = true;
  private scrolledByPage = false;
  private matches: number[] = [];
  private currentMatch = -1;
  private term = "";
  private searchTimer: number | undefined;
  private searchDirty = false;
  private searchRefresh: number | undefined;

  private readonly panel = byId("logs");
  private readonly scroller = byId("log-scroll");
  private readonly spacer = byId("log-spacer");
  private readonly rows = byId("log-rows");
  private readonly chips = byId("log-sources");
  private readonly status = byId("log-status");
  private readonly matchStatus = byId("log-match-status");
  private readonly timestampsBox = byId<HTMLInputElement>("log-timestamps");
  private readonly followBox = byId<HTMLInputElement>("log-follow");
  private readonly pauseButton = byId<HTMLButtonElement>("log-pause");
  private readonly searchBox = byId<HTMLInputElement>("log-search");
  private readonly tailSelect = byId<HTMLSelectElement>("log-tail");

  constructor(
    private readonly client: OsirisClient,
    private readonly report: (line: string) => void,
  ) {
    this.scroller.addEventListener("scroll", () => this.onScroll());
    this.timestampsBox.addEventListener("change", () => this.render());
    this.followBox.addEventListener("change", () => {
      this.following = this.followBox.checked;
      if (this.following) this.scrollToEnd();
    });
    this.pauseButton.addEventListener("click", () => this.setPaused(!this.paused));
    this.searchBox.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.search(this.searchBox.value, true), 150);
    });
    this.searchBox.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      clearTimeout(this.searchTimer);
      if (this.searchBox.value !== this.term) this.search(this.searchBox.value, true);
      else this.step(event.shiftKey ? -1 : 1);
    });
    byId("log-next").addEventListener("click", () => this.step(1));
    byId("log-previous").addEventListener("click", () => this.step(-1));
    byId("log-download").addEventListener("click", () => this.download());
    byId("log-clear").addEventListener("click", () => {
      this.store.clear();
      this.search(this.term, false);
      this.render();
    });
    byId("log-close").addEventListener("click", () => this.close());
    this.tailSelect.addEventListener("change", () => this.reopen());
    new ResizeObserver(() => this.render()).observe(this.scroller);
  }

  /** Shows the logs of these containers, merged by time, replacing what was shown. */
  open(containers: { id: string; name: string }[]): void {
    this.stopAll();
    this.store.clear();
    this.held = [];
    this.matches = [];
    this.currentMatch = -1;
    const chosen = containers.slice(0, maxMergedContainers);
    if (containers.length > chosen.length) {
      this.report(`Showing the logs of the first ${maxMergedContainers} containers: each followed log holds one of the browser's six connections to Osiris.`);
    }
    this.sources = chosen.map(({ id, name }) => ({ id, name, stream: new AbortController(), state: "loading", detail: "" }));
    this.panel.hidden = false;
    this.panel.querySelector("h2")!.textContent = `Logs: ${chosen.map((c) => c.name).join(", ")}`;
    this.setPaused(false);
    this.following = this.followBox.checked = true;
    this.measureRowHeight();
    this.sources.forEach((source, index) => void this.follow(source, index));
    this.renderChips();
    this.render();
    this.panel.scrollIntoView({ block: "nearest" });
  }

  close(): void {
    this.stopAll();
    this.store.clear();
    this.held = [];
    this.panel.hidden = true;
  }

  private reopen(): void {
    if (this.sources.length > 0) this.open(this.sources.map(({ id, name }) => ({ id, name })));
  }

  private stopAll(): void {
    for (const source of this.sources) source.stream.abort();
    this.sources = [];
  }

  private async follow(source: Source, index: number): Promise<void> {
    const signal = source.stream.signal;
    const tail = this.tailSelect.value === "all" ? undefined : Number(this.tailSelect.value);
    const splitters = { out: new LineSplitter(), err: new LineSplitter() };
    const decoders = { out: new TextDecoder(), err: new TextDecoder() };
    // Where the stream was when it broke: a network blip (see isNetworkFailure) resumes from there.
    let last: { seconds: bigint; nanos: number } | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const resume = last === undefined ? (tail === undefined ? {} : { tailLines: tail }) : { since: last };
        let skipUntil = last;
        const stream = this.client.streamDockerContainerLogs({ container: source.id, follow: true, timestamps: true, ...resume }, { signal });
        source.state = "following";
        this.renderChips();
        for await (const chunk of stream) {
          const time = chunk.timestamp ?? { seconds: 0n, nanos: 0 };
          // A resumed stream starts with lines at `since` itself: skip those already shown.
          if (skipUntil !== undefined) {
            if (time.seconds < skipUntil.seconds || (time.seconds === skipUntil.seconds && time.nanos <= skipUntil.nanos)) continue;
            skipUntil = undefined;
          }
          last = { seconds: time.seconds, nanos: time.nanos };
          const stderr = chunk.stream === LogStream.STDERR;
          const key = stderr ? "err" : "out";
          const seconds = Number(time.seconds);
          for (const text of splitters[key].push(decoders[key].decode(chunk.data, { stream: true }))) {
            this.held.push({ seconds, nanos: time.nanos, source: index, stderr, text });
          }
          this.schedule();
        }
        source.state = "ended";
        source.detail = "the container stopped";
        break;
      } catch (error) {
        if (isOwnCancel(error, signal)) return;
        if (isNetworkFailure(error) && attempt < 5) {
          await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
          if (signal.aborted) return;
          continue;
        }
        source.state = "failed";
        source.detail = errorLine(error);
        this.report(`Logs of ${source.name}: ${source.detail}`);
        break;
      }
    }
    for (const key of ["out", "err"] as const) {
      for (const text of splitters[key].flush()) this.held.push({ seconds: Number.MAX_SAFE_INTEGER, nanos: 0, source: index, stderr: key === "err", text });
    }
    this.schedule();
    this.renderChips();
  }

  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.flush();
    });
  }

  /** Takes the lines that arrived since the last frame into the view, unless paused. */
  private flush(): void {
    if (this.paused) {
      this.status.textContent = `${this.countText()} (paused: ${this.held.length.toLocaleString("en")} new lines held)`;
      return;
    }
    const batch = this.held;
    this.held = [];
    this.store.add(batch);
    if (this.store.lines.length > maxLines) this.store.lines.splice(0, this.store.lines.length - maxLines);
    if (this.term !== "") this.searchDirty = true;
    this.render();
    if (this.following) this.scrollToEnd();
    if (this.searchDirty) this.refreshSearchSoon();
  }

  /** While lines pour in, matches are counted again at most twice a second, not on every frame. */
  private refreshSearchSoon(): void {
    if (this.searchRefresh !== undefined) return;
    this.searchRefresh = window.setTimeout(() => {
      this.searchRefresh = undefined;
      if (this.searchDirty) this.search(this.term, false);
    }, 500);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauseButton.textContent = paused ? "Resume" : "Pause";
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    if (!paused) this.schedule();
  }

  private countText(): string {
    const lines = this.store.lines.length;
    return `${lines.toLocaleString("en")} line${lines === 1 ? "" : "s"}`;
  }

  private measureRowHeight(): void {
    const probe = h("div", { class: "log-row" }, "M");
    this.rows.appendChild(probe);
    this.rowHeight = probe.getBoundingClientRect().height || 18;
    probe.remove();
  }

  private scrollToEnd(): void {
    this.scrolledByPage = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private onScroll(): void {
    if (this.scrolledByPage) {
      this.scrolledByPage = false;
    } else if (this.following) {
      // Scrolling up to read stops following, as in a terminal; ticking Follow again resumes it.
      const atEnd = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - 2 * this.rowHeight;
      if (!atEnd) this.following = this.followBox.checked = false;
    }
    this.render();
  }

  /** Draws the rows in sight; everything else is the spacer's height. */
  render(): void {
    const started = performance.now();
    const lines = this.store.lines;
    const total = lines.length;
    this.spacer.style.height = `${total * this.rowHeight}px`;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / this.rowHeight) - overscan);
    const visible = Math.ceil(this.scroller.clientHeight / this.rowHeight) + 2 * overscan;
    const last = Math.min(total, first + visible);
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
    const showTime = this.timestampsBox.checked;
    const showSource = this.sources.length > 1;
    const current = this.matches[this.currentMatch];
    const fragment = document.createDocumentFragment();
    for (let index = first; index < last; index++) {
      const line = lines[index]!;
      const row = h("div", {
        class: `log-row${line.stderr ? " stderr" : ""}${index === current ? " current" : ""}`,
        "data-index": index,
      });
      if (showTime) append(row, h("span", { class: "log-time" }, timeText(line)));
      if (showSource) append(row, h("span", { class: `log-source source-${line.source % 6}` }, this.sources[line.source]?.name ?? "?"));
      append(row, h("span", { class: "log-stream", title: line.stderr ? "standard error" : "standard output" }, line.stderr ? "err" : "out"));
      const text = h("span", { class: "log-text" });
      const parts = splitAround(line.text, this.term);
      parts.forEach((part, at) => append(text, at % 2 === 1 ? h("mark", {}, part) : part));
      append(row, text);
      fragment.appendChild(row);
    }
    this.rows.replaceChildren(fragment);
    this.panel.dataset.lines = String(total);
    // How long drawing took, whatever the number of lines: the figure the browser test prints.
    this.panel.dataset.renderMs = (performance.now() - started).toFixed(2);
    this.status.textContent = this.paused ? `${this.countText()} (paused)` : this.countText();
  }

  private search(term: string, jump: boolean): void {
    this.searchDirty = false;
    const started = performance.now();
    this.term = term;
    const previous = this.matches[this.currentMatch];
    this.matches = this.store.search(term);
    const took = performance.now() - started;
    this.panel.dataset.searchMs = took.toFixed(1);
    if (this.matches.length === 0) {
      this.currentMatch = -1;
    } else if (jump || previous === undefined) {
      // The first match at or below the top of the view, like a browser's find.
      const top = Math.floor(this.scroller.scrollTop / this.rowHeight);
      const at = this.matches.findIndex((index) => index >= top);
      this.currentMatch = at === -1 ? 0 : at;
    } else {
      this.currentMatch = Math.max(0, this.matches.indexOf(previous));
    }
    this.matchStatus.textContent =
      term === ""
        ? ""
        : this.matches.length === 0
          ? "no match"
          : `${(this.currentMatch + 1).toLocaleString("en")} of ${this.matches.length.toLocaleString("en")} matches`;
    this.matchStatus.dataset.matches = String(this.matches.length);
    if (jump && this.currentMatch >= 0) this.reveal(this.matches[this.currentMatch]!);
    else this.render();
  }

  private step(direction: 1 | -1): void {
    if (this.matches.length === 0) return;
    this.currentMatch = (this.currentMatch + direction + this.matches.length) % this.matches.length;
    this.matchStatus.textContent = `${(this.currentMatch + 1).toLocaleString("en")} of ${this.matches.length.toLocaleString("en")} matches`;
    this.reveal(this.matches[this.currentMatch]!);
  }

  /** Scrolls a line into the middle of the view, which stops following. */
  private reveal(index: number): void {
    this.following = this.followBox.checked = false;
    this.scrolledByPage = true;
    this.scroller.scrollTop = Math.max(0, index * this.rowHeight - this.scroller.clientHeight / 2);
    this.render();
  }

  private renderChips(): void {
    replaceChildren(
      this.chips,
      ...this.sources.map((source, index) =>
        h(
          "li",
          { class: `chip source-${index % 6}`, "data-state": source.state, title: source.detail || source.state },
          `${source.name}: ${source.state}${source.state === "failed" ? ` (${source.detail})` : ""}`,
        ),
      ),
    );
  }

  private download(): void {
    const multiple = this.sources.length > 1;
    const text = this.store.lines
      .map((line) => `${timeText(line)} ${multiple ? `${this.sources[line.source]?.name ?? "?"} ` : ""}${line.stderr ? "stderr" : "stdout"} ${line.text}`)
      .join("\n");
    const url = URL.createObjectURL(new Blob([text, "\n"], { type: "text/plain" }));
    const link = h("a", { href: url, download: `osiris-logs-${this.sources.map((s) => s.name).join("+") || "empty"}.log` });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** RFC 3339 in UTC with microseconds: sortable, and what `docker logs -t` prints (to the nanosecond). */
function timeText(line: LogLine): string {
  if (line.seconds === Number.MAX_SAFE_INTEGER) return "".padEnd(27);
  const iso = new Date(line.seconds * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(Math.floor(line.nanos / 1000)).padStart(6, "0")}Z`;
}
