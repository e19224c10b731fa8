import { engineCall } from "../engine/engine-call.js";
import type { EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, ContainerRemovalConflictError } from "../errors.js";
import { instanceLabel, managedLabel } from "../grammar/labels.js";

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
    private readonly containers: { sweepAbandonedRuns(ageMs: number): Promise<void> },
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
    this.sweeping = this.containers
      .sweepAbandonedRuns(this.options.ageMs)
      .catch((error: unknown) => this.log.warn({ error: String(error) }, "could not look for abandoned runs; trying again later"))
      .finally(() => (this.sweeping = undefined));
  }
}

/** One pass of the sweep: removes every abandoned run found, as AbandonedRunSweep describes. */
export async function sweepAbandonedRuns(engine: EngineClient, log: SweepLog, ageMs: number): Promise<void> {
  const candidates = await engineCall(engine, { kind: "list-containers" }, undefined, () =>
    engine.listContainers({ all: true, filters: { status: ["created"], label: [`${managedLabel}=true`, instanceLabel] } }),
  );
  if (candidates.length === 0) return;
  const engineNowMs = await engineClockMs(engine);
  for (const container of candidates) {
    // Created is in whole seconds, rounded down: an age can read up to a second long.
    const age = engineNowMs - container.Created * 1000;
    if (age < ageMs) continue;
    const name = container.Names[0]?.replace(/^\//, "") ?? "";
    await removeAbandoned(engine, log, { id: container.Id, name, instance: container.Labels[instanceLabel] ?? "", ageMs: age });
  }
}

async function removeAbandoned(
  engine: EngineClient,
  log: SweepLog,
  { id, name, instance, ageMs }: { id: string; name: string; instance: string; ageMs: number },
): Promise<void> {
  try {
    // Not forced: should a client have started it meanwhile, the engine refuses and it stays.
    await engineCall(engine, { kind: "remove-container", container: id }, undefined, () =>
      engine.removeContainer(id, { force: false, removeVolumes: true }),
    );
    log.info({ containerId: id, name, instance, ageSeconds: Math.round(ageMs / 1000) }, "removed a container left created by a run that never completed");
  } catch (error) {
    // Gone already, or started or being removed meanwhile. Either way, not abandoned any more.
    if (error instanceof ContainerNotFoundError || error instanceof ContainerRemovalConflictError) return;
    log.warn({ containerId: id, name, error: String(error) }, "could not remove an abandoned run's container");
  }
}

/** The engine's clock, which stamped Created; this host's clock may differ from it. */
async function engineClockMs(engine: EngineClient): Promise<number> {
  const info = await engineCall(engine, { kind: "read-info" }, undefined, () => engine.info());
  const time = Date.parse(info.SystemTime ?? "");
  return Number.isNaN(time) ? Date.now() : time;
}
