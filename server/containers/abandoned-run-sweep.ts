import type { Engine } from "./engine.js";
import { instanceLabel, managedLabel } from "./labels.js";

export interface AbandonedRunSweepOptions {
  /**
   * How old a `created` container must be before it counts as abandoned: far
   * longer than any Run takes from its create to its start.
   */
  ageMs: number;
  /** The pause between sweeps. */
  intervalMs: number;
}

/** Where the sweep reports what it removed, and what it could not do. */
export interface SweepLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Removes containers that a Run created and will never start: Run starts what
 * it creates at once, so a container still `created` long after its create
 * belongs to an Osiris process that was killed between the two, or whose
 * rollback failed.
 *
 * Several Osiris processes may share the engine (rolling updates, HA pairs),
 * so a `created` container may be another process's Run in progress. Nothing
 * proves that the process that made it is gone: its instance id is random, a
 * pid means nothing on another host, and a process that holds the same
 * address may be the one still draining its calls after SIGTERM. So age is
 * the only test, measured by the engine's clock. Only containers carrying an
 * instance label are considered: others were made by hand or by an older
 * Osiris, not by a Run of this one.
 */
export class AbandonedRunSweep {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly log: SweepLog,
    private readonly options: AbandonedRunSweepOptions,
  ) {}

  /** Sweeps now, then every intervalMs until stop. */
  start(): void {
    if (this.timer) return;
    this.sweepInBackground();
    this.timer = setInterval(() => this.sweepInBackground(), this.options.intervalMs);
    // A sweep is housekeeping: it must not keep the process alive.
    this.timer.unref();
  }

  /** Stops sweeping, and waits for a sweep under way to finish. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  private sweepInBackground(): void {
    // One sweep at a time: a slow engine must not pile them up.
    if (this.sweeping) return;
    this.sweeping = this.sweep()
      .catch((error: unknown) => this.log.warn({ error: String(error) }, "could not look for abandoned runs; trying again later"))
      .finally(() => (this.sweeping = undefined));
  }

  /** One pass: removes every abandoned run found. */
  async sweep(): Promise<void> {
    const candidates = await this.engine.docker.listContainers({
      all: true,
      filters: { status: ["created"], label: [`${managedLabel}=true`, instanceLabel] },
    });
    if (candidates.length === 0) return;
    const engineNowMs = await this.engineNowMs();
    for (const container of candidates) {
      // Created is in whole seconds, rounded down: an age can read up to a second long.
      const ageMs = engineNowMs - container.Created * 1000;
      if (ageMs < this.options.ageMs) continue;
      await this.remove(container.Id, container.Names[0]?.replace(/^\//, "") ?? "", container.Labels[instanceLabel] ?? "", ageMs);
    }
  }

  private async remove(id: string, name: string, instance: string, ageMs: number): Promise<void> {
    try {
      // Not forced: should a client have started it meanwhile, the engine refuses and it stays.
      await this.engine.docker.getContainer(id).remove({ v: true });
      this.log.info(
        { containerId: id, name, instance, ageSeconds: Math.round(ageMs / 1000) },
        "removed a container left created by a run that never completed",
      );
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      // 404: gone already; 409: started or being removed meanwhile. Either way, not abandoned any more.
      if (status === 404 || status === 409) return;
      this.log.warn({ containerId: id, name, error: String(error) }, "could not remove an abandoned run's container");
    }
  }

  /** The engine's clock, which stamped Created; this host's clock may differ from it. */
  private async engineNowMs(): Promise<number> {
    const info = (await this.engine.docker.info()) as { SystemTime?: string };
    const time = Date.parse(info.SystemTime ?? "");
    return Number.isNaN(time) ? Date.now() : time;
  }
}
