import { medianPairRatio, summarise, type Summary } from "./stats.js";

/** What one scenario measured, as the report prints it. */
export interface ScenarioResult {
  name: string;
  /** The alternative Osiris is compared with; empty when there is none. */
  direct: string;
  unit: "ms" | "req/s" | "MB/s" | "MB";
  osiris: Summary;
  directSummary?: Summary;
  /** Osiris/direct of the medians (for throughput, Osiris's rate over the direct rate). */
  ratio: number;
  /** Median of per-pair ratios, when the sides ran in pairs. */
  pairRatio?: number;
  target: string;
  met: boolean;
  /** Anything else measured: errors, connections, memory. */
  notes: string[];
}

/**
 * Osiris's samples (`a`) against the direct alternative's (`b`), paired.
 * Times must stay at most `limit` times the alternative's; rates at least.
 */
export function compareSides(
  name: string,
  direct: string,
  unit: ScenarioResult["unit"],
  samples: { a: number[]; b: number[] },
  limit: number,
): ScenarioResult {
  const osiris = summarise(samples.a);
  const directSummary = summarise(samples.b);
  const ratio = osiris.median / directSummary.median;
  const lowerIsBetter = unit === "ms";
  return {
    name,
    direct,
    unit,
    osiris,
    directSummary,
    ratio,
    pairRatio: medianPairRatio(samples.a, samples.b),
    target: `${lowerIsBetter ? "≤" : "≥"} ${limit.toFixed(2)}`,
    met: lowerIsBetter ? ratio <= limit : ratio >= limit,
    notes: [],
  };
}
