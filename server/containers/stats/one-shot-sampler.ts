import { abortable } from "../engine/abortable.js";
import { engineCall, engineFailure } from "../engine/engine-call.js";
import type { EngineClient, EngineContainerStats } from "../engine/engine-client.js";
import { EngineFailureError } from "../errors.js";
import { cpuCounters, isRunningSample, statsFigures, type CpuCounters, type StatsFigures } from "./stats-figures.js";
import type { StatsHub } from "./stats-hub.js";
import { statsSamples } from "./stats-samples.js";

export interface OneShotOptions {
  /** The shortest time CPU % is measured over: the host's CPU time is counted in 10 ms ticks. */
  minIntervalMs: number;
  /** An earlier reading of the container serves as the start of the measurement for this long. */
  baselineMaxAgeMs: number;
  /** A result this recent is answered again rather than measured anew: the engine refreshes at most about once a second. */
  reuseResultMs: number;
  /** Containers whose last reading is remembered; the least recently measured is forgotten first. */
  maxRemembered: number;
  /** After a one-shot call the container's engine stream is kept open this long, so the next poll is answered from it. */
  keepWarmMs: number;
}

export const defaultOneShotOptions: OneShotOptions = {
  minIntervalMs: 150,
  baselineMaxAgeMs: 10_000,
  reuseResultMs: 1_000,
  maxRemembered: 4096,
  keepWarmMs: 10_000,
};

/** A container's one sample: its figures, or the fact that it is not running. */
export type OneShotResult = { running: true; figures: StatsFigures } | { running: false };

interface Reading {
  counters: CpuCounters;
  at: number;
  result?: { figures: StatsFigures; at: number };
}

/**
 * One sample per container, fast. The engine's own non-streaming call waits
 * for two of its sampling cycles (about 2 s) so that CPU % has something to
 * compare with. Here the engine is asked for its counters with one-shot=true,
 * and CPU % compares them with the latest reading Osiris already has: the
 * container's open feed, or the previous one-shot reading if recent enough.
 * Only a container read for the first time is read twice, minIntervalMs
 * apart. Concurrent calls for one container share one measurement. Each call
 * also keeps the container's shared engine stream open for keepWarmMs, so a
 * caller polling every few seconds gets its next answer from that stream at
 * once, whatever the engine's sampling cycle is doing.
 */
export class OneShotSampler {
  private readonly readings = new Map<string, Reading>();
  private readonly inFlight = new Map<string, { result: Promise<OneShotResult>; callers: number; controller: AbortController }>();

  constructor(
    private readonly engine: EngineClient,
    private readonly hub: StatsHub,
    private readonly options: OneShotOptions = defaultOneShotOptions,
  ) {}

  async sample(container: { id: string; name: string }, signal: AbortSignal): Promise<OneShotResult> {
    const result = await this.sampleNow(container, signal);
    if (result.running) this.hub.keepWarm(container, this.options.keepWarmMs);
    return result;
  }

  private async sampleNow(container: { id: string; name: string }, signal: AbortSignal): Promise<OneShotResult> {
    // An open feed's sample is about a cycle old (cycles stretch past a second on a busy engine), with CPU % over
    // the cycle before: as fresh as anything the engine has.
    const streamed = this.hub.recentSample(container.id, 2_500);
    if (streamed) return { running: true, figures: streamed };
    const recent = this.readings.get(container.id)?.result;
    if (recent && performance.now() - recent.at <= this.options.reuseResultMs) return { running: true, figures: recent.figures };
    // The feed's next sample comes no later than a reading of our own would: the engine reads on the same cycle.
    const next = await this.hub.nextSample(container.id, signal);
    if (next) return { running: true, figures: next };
    let shared = this.inFlight.get(container.id);
    if (!shared) {
      const controller = new AbortController();
      const entry = { result: this.measure(container, controller.signal), callers: 0, controller };
      this.inFlight.set(container.id, entry);
      const forget = () => {
        if (this.inFlight.get(container.id) === entry) this.inFlight.delete(container.id);
      };
      entry.result.then(forget, forget);
      shared = entry;
    }
    const entry = shared;
    entry.callers++;
    try {
      return await abortable(entry.result, signal);
    } finally {
      // The last caller to leave stops the measurement; one still waiting keeps it going.
      if (--entry.callers === 0 && signal.aborted) entry.controller.abort(signal.reason);
    }
  }

  private async measure(container: { id: string; name: string }, signal: AbortSignal): Promise<OneShotResult> {
    const first = await this.read(container, signal);
    const firstAt = performance.now();
    if (!isRunningSample(first)) return { running: false };
    const counters = cpuCounters(first.cpu_stats);
    const earlier = this.readings.get(container.id);
    const age = earlier ? firstAt - earlier.at : Number.POSITIVE_INFINITY;
    if (
      earlier &&
      counters &&
      age >= this.options.minIntervalMs &&
      age <= this.options.baselineMaxAgeMs &&
      counters.containerNanos >= earlier.counters.containerNanos &&
      counters.systemNanos > earlier.counters.systemNanos
    ) {
      return this.remember(container.id, counters, statsFigures(first, earlier.counters));
    }
    await delay(this.options.minIntervalMs, signal);
    const second = await this.read(container, signal);
    if (!isRunningSample(second)) return { running: false };
    const secondCounters = cpuCounters(second.cpu_stats);
    const figures = statsFigures(second, counters);
    return secondCounters ? this.remember(container.id, secondCounters, figures) : { running: true, figures };
  }

  private remember(containerId: string, counters: CpuCounters, figures: StatsFigures): OneShotResult {
    const at = performance.now();
    this.readings.delete(containerId);
    this.readings.set(containerId, { counters, at, result: figures.cpuPercent === undefined ? undefined : { figures, at } });
    if (this.readings.size > this.options.maxRemembered) {
      const oldest = this.readings.keys().next().value;
      if (oldest !== undefined) this.readings.delete(oldest);
    }
    return { running: true, figures };
  }

  private async read(container: { id: string; name: string }, signal: AbortSignal): Promise<EngineContainerStats> {
    const operation = { kind: "stats-container", container: container.name || container.id } as const;
    const body = await engineCall(this.engine, operation, signal, () =>
      this.engine.containerStats(container.id, { stream: false, oneShot: true }, signal),
    );
    try {
      for await (const sample of statsSamples(body)) return sample;
    } catch (error) {
      throw engineFailure(this.engine, operation, signal, error);
    } finally {
      body.destroy();
    }
    throw new EngineFailureError("read container stats", "the engine answered without a sample");
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}
