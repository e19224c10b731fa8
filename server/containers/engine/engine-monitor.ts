import type { EngineClient } from "./engine-client.js";

export interface EngineMonitorOptions {
  /** How often to ping the engine. */
  intervalMs: number;
  /** A ping slower than this counts as unreachable (a stalled engine). */
  timeoutMs: number;
}

/**
 * Knows whether the engine answers, by pinging it on a fixed interval, and
 * tells listeners when that changes. Health checks and readiness read it, so
 * a thousand probes cost the engine one ping per interval.
 */
export class EngineMonitor {
  private reachable = false;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly engine: EngineClient,
    private readonly options: EngineMonitorOptions = { intervalMs: 1000, timeoutMs: 1000 },
  ) {}

  get isReachable(): boolean {
    return this.reachable;
  }

  /** Resolves after the first ping, so the state is known before serving. */
  async start(): Promise<void> {
    await this.probe();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.notify();
  }

  /** Resolves at the next change of reachability, or when `signal` fires, or on stop. */
  nextChange(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private async probe(): Promise<void> {
    let answered: boolean;
    try {
      await this.engine.ping(AbortSignal.timeout(this.options.timeoutMs));
      answered = true;
    } catch {
      answered = false;
    }
    if (answered !== this.reachable) {
      this.reachable = answered;
      this.notify();
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.probe(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
