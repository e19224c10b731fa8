/// <reference lib="dom" />
import { Code, ConnectError } from "@connectrpc/connect";
import { EventType, ReadConsistency, type Container } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import type { OsirisClient } from "./connection.js";
import { isNetworkFailure, isOwnCancel } from "./errors.js";

export interface StoreListener {
  changed(): void;
  /** The live view broke (the stream ended or a call failed); it reconnects by itself. `repeated` when it failed again right after reconnecting. */
  failed(error: unknown, repeated: boolean): void;
  connected(): void;
}

/**
 * Every container the server lets this caller see, kept current by
 * WatchDockerEvents: no polling. The watch starts before the first List so
 * that nothing happening during the List is missed; each event makes the
 * store Get that container again (or drop it when removed), so what the
 * table shows is always what the server reported, not a guess from events.
 */
export class ContainerStore {
  readonly containers = new Map<string, Container>();
  private watch: AbortController | undefined;
  /** Containers with a Get in flight, and whether another event came meanwhile. */
  private refreshing = new Map<string, boolean>();
  private retryTimer: number | undefined;
  /** Failures since the live view last worked: the first is retried at once and quietly (see isNetworkFailure). */
  private failures = 0;

  constructor(
    private readonly client: OsirisClient,
    private readonly listener: StoreListener,
  ) {}

  start(): void {
    this.stop();
    const watch = new AbortController();
    this.watch = watch;
    void this.follow(watch.signal);
  }

  stop(): void {
    this.watch?.abort();
    this.watch = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The result of an action, known before its event arrives. */
  put(container: Container): void {
    this.containers.set(container.id, container);
    this.listener.changed();
  }

  drop(id: string): void {
    if (this.containers.delete(id)) this.listener.changed();
  }

  private async follow(signal: AbortSignal): Promise<void> {
    try {
      const events = this.client.watchDockerEvents({}, { signal });
      const iterator = events[Symbol.asyncIterator]();
      // The first event may take long; list while the watch is being set up.
      const first = iterator.next();
      first.catch(() => undefined);
      await this.loadAll(signal);
      this.failures = 0;
      this.listener.connected();
      for (let next = await first; !next.done; next = await iterator.next()) {
        const event = next.value;
        if (event.type === EventType.REMOVED) {
          this.refreshing.delete(event.containerId);
          this.drop(event.containerId);
        } else {
          void this.refresh(event.containerId, signal);
        }
      }
      if (!signal.aborted) throw new ConnectError("The server ended the event stream", Code.Unavailable);
    } catch (error) {
      if (isOwnCancel(error, signal)) return;
      this.failures++;
      this.listener.failed(error, this.failures > 1);
      // Without a valid token, retrying only asks again: the token prompt starts over once a token is given.
      if (ConnectError.from(error).code === Code.Unauthenticated) return;
      // Resubscribe and list again: events missed while away are covered by the fresh List.
      this.retryTimer = window.setTimeout(
        () => {
          if (this.watch?.signal === signal) this.start();
        },
        this.failures === 1 ? 300 : 3000,
      );
    }
  }

  private async loadAll(signal: AbortSignal): Promise<void> {
    const seen = new Map<string, Container>();
    let pageToken = "";
    // 1000 per page (the most a page holds); bounded so a misbehaving server cannot loop the page.
    for (let page = 0; page < 100; page++) {
      const response = await this.client.listDockerContainers({ all: true, pageSize: 1000, pageToken }, { signal });
      for (const container of response.containers) seen.set(container.id, container);
      pageToken = response.nextPageToken;
      if (pageToken === "") break;
    }
    this.containers.clear();
    for (const [id, container] of seen) this.containers.set(id, container);
    this.listener.changed();
  }

  /** One Get per container at a time; events arriving meanwhile cause one more Get after it. */
  private async refresh(id: string, signal: AbortSignal): Promise<void> {
    if (this.refreshing.has(id)) {
      this.refreshing.set(id, true);
      return;
    }
    this.refreshing.set(id, false);
    try {
      for (let round = 0; round < 10 && !signal.aborted; round++) {
        try {
          // Fresh: the event says the container changed just now, and the server's cache may learn of it a moment later.
          const { container } = await this.client.getDockerContainer({ container: id, consistency: ReadConsistency.FRESH }, { signal });
          if (container && this.refreshing.has(id)) this.put(container);
        } catch (error) {
          if (ConnectError.from(error).code === Code.NotFound) this.drop(id);
          else if (isNetworkFailure(error) && round < 9) {
            // Asked again after a pause: the usual cause is a network change on a Docker host, over in a moment.
            await new Promise((resolve) => setTimeout(resolve, 200 * (round + 1)));
            this.refreshing.set(id, true);
          } else if (!isOwnCancel(error, signal)) this.listener.failed(error, true);
        }
        if (this.refreshing.get(id) !== true) break;
        this.refreshing.set(id, false);
      }
    } finally {
      this.refreshing.delete(id);
    }
  }
}
