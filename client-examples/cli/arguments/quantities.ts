import { badFlag } from "./flag-error.js";

const binaryUnits: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * `--memory 512m`: docker's RAMInBytes. A number with an optional unit b, k,
 * m, g, t or p (powers of 1024, any case, optionally followed by `b` or `ib`).
 * A bare number is bytes.
 */
export function parseMemory(text: string, flag = "-m, --memory"): bigint {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw badFlag(flag, text, "expected a size like 512m, 1g or 1073741824 (bytes)");
  const bytes = Math.trunc(Number(match[1]) * binaryUnits[match[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw badFlag(flag, text, "the size is too large");
  return BigInt(bytes);
}

/**
 * `--cpus 1.5`: CPUs as a decimal, sent as billionths of a CPU (the proto's
 * `nano_cpus`), computed from the digits so that 1.1 is exactly 1100000000.
 */
export function parseCpus(text: string, flag = "--cpus"): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw badFlag(flag, text, "expected a number of CPUs like 0.5 or 2");
  const fraction = match[2] ?? "";
  if (fraction.replace(/0+$/, "").length > 9) throw badFlag(flag, text, "the value is too precise (at most 9 decimals)");
  return BigInt(match[1]!) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9));
}

/** A count of at least 0, like `--tail 20` or `-t 10`. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw badFlag(flag, text, "expected a whole number of at least 0");
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > 0xffffffff) throw badFlag(flag, text, "the number is too large");
  return value;
}
