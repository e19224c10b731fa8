import { createHmac } from "node:crypto";
import type { RunSpec } from "../run-spec.js";

/**
 * What makes two Run requests "the same" for request_id. The digest covers
 * env values, which may be secrets, and it is kept as a label on the engine:
 * an unkeyed hash there would let anyone who can read labels test guessed
 * values offline. So it is an HMAC under a key only Osiris holds
 * (OSIRIS_REQUEST_DIGEST_KEY_FILE), shared by the replicas that must
 * recognise each other's retries.
 */
export class RunDigester {
  /** Names the key without revealing it, so a digest made under another key is recognised as such. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    this.keyId = createHmac("sha256", key).update("osiris request-digest key id").digest("hex").slice(0, 16);
  }

  digest(spec: RunSpec): string {
    return createHmac("sha256", this.key).update(digestedText(spec)).digest("hex");
  }
}

/** Every field but the key itself and the registry credentials, with map keys sorted so their order does not matter. */
export function digestedText(spec: RunSpec): string {
  const { requestId: _requestId, registryAuth: _registryAuth, ...compared } = spec;
  return canonicalJson(compared);
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
