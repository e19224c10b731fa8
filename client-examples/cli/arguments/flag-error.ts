import { UsageError } from "../failures.js";

/** docker's wording for a bad flag value: `invalid argument "x" for "-p, --publish" flag: <why>`. */
export function badFlag(flag: string, value: string, reason: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${flag}" flag: ${reason}`);
}
