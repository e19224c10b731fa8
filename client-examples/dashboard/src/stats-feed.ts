/// <reference lib="dom" />
import { Code, ConnectError } from "@connectrpc/connect";
import type { OsirisClient } from "./connection.js";
import { isNetworkFailure, isOwnCancel } from "./errors.js";

export interface Usage {
  /** Percent of one CPU; undefined until the second sample. */
  cpuPercent: number | undefined;
  memoryBytes: number;
  memoryLimitBytes: number;
  memoryPercent: number;
}

/**
 * CPU and memory of every running container in scope, from one
 * StreamDockerContainerStats call: the server adds containers as they start
 * and says when they leave, so the page needs one connection, not one per row.
 */
export class StatsFeed {
  readonly usage = new Map<string, Usage>();
  /** False when the server has no stats stream (an older Osiris): the columns say so. */
  supported = true;
  private controller: AbortController | undefined;
  private retryTimer: number | undefined;

  constructor(
    private readonly client: OsirisClient,
    private readonly changed: () => void,
  ) {}

  start(): void {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    void this.follow(controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async follow(signal: AbortSignal): Promise<void> {
    let networkFailure = false;
    try {
      for await (const message of this.client.streamDockerContainerStats({}, { signal })) {
        if (message.update.case === "stats") {
          const stats = message.update.value;
          this.usage.set(message.containerId, {
            cpuPercent: stats.cpuPercent,
            memoryBytes: Number(stats.memoryUsageBytes),
            memoryLimitBytes: Number(stats.memoryLimitBytes),
            memoryPercent: stats.memoryPercent,
          });
        } else if (message.update.case === "left") {
          this.usage.delete(message.containerId);
        }
        this.changed();
      }
    } catch (error) {
      if (isOwnCancel(error, signal)) return;
      if (ConnectError.from(error).code === Code.Unimplemented) {
        this.supported = false;
        this.changed();
        return;
      }
      if (ConnectError.from(error).code === Code.Unauthenticated) return;
      networkFailure = isNetworkFailure(error);
    }
    if (signal.aborted) return;
    // The stream ended or broke (engine restart, server restart): figures go stale, so drop them and subscribe again.
    this.usage.clear();
    this.changed();
    this.retryTimer = window.setTimeout(
      () => {
        if (this.controller?.signal === signal) this.start();
      },
      networkFailure ? 500 : 3000,
    );
  }
}
