import { readFileSync } from "node:fs";
import { badFlag } from "./flag-error.js";
import { UsageError } from "../failures.js";

/**
 * `-e KEY=VALUE` sets a variable; `-e KEY` copies KEY from this shell's
 * environment and is skipped when it is unset, as docker does.
 */
export function addEnvironmentVariable(
  spec: string,
  into: Record<string, string>,
  environment: Record<string, string | undefined>,
  flag = "-e, --env",
): void {
  const equals = spec.indexOf("=");
  const key = equals === -1 ? spec : spec.slice(0, equals);
  if (key === "") throw badFlag(flag, spec, "the variable name is empty; write KEY=VALUE");
  if (/\s/.test(key)) throw badFlag(flag, spec, "the variable name contains whitespace");
  if (equals !== -1) {
    into[key] = spec.slice(equals + 1);
    return;
  }
  const inherited = environment[key];
  if (inherited !== undefined) into[key] = inherited;
}

/** `--env-file FILE`: one KEY=VALUE (or KEY) per line; blank lines and `#` comments are skipped. */
export function addEnvironmentFile(path: string, into: Record<string, string>, environment: Record<string, string | undefined>): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read --env-file "${path}": ${(error as Error).message}`);
  }
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    addEnvironmentVariable(trimmed, into, environment, "--env-file");
  }
}

/** `--label key=value`, or `--label key` for an empty value, as docker reads labels. */
export function addLabel(spec: string, into: Record<string, string>, flag = "-l, --label"): void {
  const equals = spec.indexOf("=");
  const key = equals === -1 ? spec : spec.slice(0, equals);
  if (key === "") throw badFlag(flag, spec, "the label key is empty; write key=value");
  into[key] = equals === -1 ? "" : spec.slice(equals + 1);
}
