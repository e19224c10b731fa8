import { badFlag } from "./flag-error.js";

export interface TimestampInit {
  seconds: bigint;
  nanos: number;
}

const durationUnitsNs: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration (`90s`, `1h30m`, `1.5h`) in nanoseconds, or undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (!/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * durationUnitsNs[unit!]!;
  }
  return total;
}

/**
 * `--since` / `--until` as docker reads them: a Unix time in seconds
 * (`1700000000.5`), a Go duration meaning "that long before now" (`10m`,
 * `1h30m`), or a date and time (`2026-01-02`, `2026-01-02T15:04:05Z`; without
 * a zone it is local time).
 */
export function parseTimeFlag(text: string, flag: string, now: Date): TimestampInit {
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (unix) return { seconds: BigInt(unix[1]!), nanos: Number((unix[2] ?? "").padEnd(9, "0")) };
  const durationNs = parseGoDuration(text);
  if (durationNs !== undefined) return fromMilliseconds(now.getTime() - durationNs / 1e6);
  const parsed = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(parsed)) {
    const fraction = /T[\d:]+\.(\d{1,9})/.exec(text)?.[1];
    const time = fromMilliseconds(parsed);
    // Date keeps milliseconds only; keep the nanoseconds the user wrote.
    return fraction === undefined ? time : { seconds: time.seconds, nanos: Number(fraction.padEnd(9, "0")) };
  }
  throw badFlag(flag, text, "expected a duration like 10m or 1h30m, a date like 2026-01-02T15:04:05Z, or Unix seconds");
}

function fromMilliseconds(milliseconds: number): TimestampInit {
  const seconds = Math.floor(milliseconds / 1000);
  return { seconds: BigInt(seconds), nanos: Math.round((milliseconds - seconds * 1000) * 1e6) };
}
