import { constants } from "node:os";

// Linux real-time signals run from 34 to 64; the engine accepts numbers up to there.
const maxSignalNumber = 64;

/**
 * Normalises a stop signal the way `docker stop --signal` accepts it: `SIGINT`,
 * `INT`, `int` or `2`. Returns undefined for anything the kernel does not know.
 */
export function normaliseSignal(input: string): string | undefined {
  const trimmed = input.trim();
  if (/^[0-9]+$/.test(trimmed)) {
    const number = Number(trimmed);
    return number >= 1 && number <= maxSignalNumber ? String(number) : undefined;
  }
  const upper = trimmed.toUpperCase();
  const withPrefix = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return withPrefix in constants.signals ? withPrefix : undefined;
}
