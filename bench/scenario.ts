import type { Summary } from "./stats.js";

/** What one scenario measured, as the report prints it. */
export interface ScenarioResult {
  name: string;
  /** The alternative Osiris is compared with; empty when there is none. */
  direct: string;
  unit: "ms" | "req/s" | "MB/s";
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
