import { createHash } from "node:crypto";
import type { RunSpec } from "./run-spec.js";

/**
 * What makes two Run requests "the same" for request_id: every field but the
 * key itself and the registry credentials, with map keys sorted so that the
 * order a client wrote them in does not matter.
 */
export function runSpecDigest(spec: RunSpec): string {
  const { requestId: _requestId, registryAuth: _registryAuth, ...compared } = spec;
  return createHash("sha256").update(canonicalJson(compared)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
