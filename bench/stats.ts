/** Summary statistics of one side of a scenario. */
export interface Summary {
  samples: number;
  median: number;
  p90: number;
  p99: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarise(values: number[]): Summary {
  return { samples: values.length, median: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99) };
}

/**
 * Runs `a` and `b` alternately, `pairs` times, flipping which goes first on
 * every pair so that drift on a noisy machine (caches warming, another
 * tenant's load) falls on both sides alike.
 */
export async function interleaved(
  pairs: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
  between?: () => Promise<void>,
): Promise<{ a: number[]; b: number[] }> {
  const result = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      result.a.push(await a());
      result.b.push(await b());
    } else {
      result.b.push(await b());
      result.a.push(await a());
    }
    await between?.();
  }
  return result;
}

/** Milliseconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The median of the per-pair ratios a[i]/b[i]: robust to drift that hits a whole pair. */
export function medianPairRatio(a: number[], b: number[]): number {
  return percentile(
    a.map((value, i) => value / b[i]!),
    50,
  );
}
