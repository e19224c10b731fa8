import { randomBytes } from "node:crypto";

/** Every container Osiris creates carries this label set to "true". */
export const managedLabel = "io.osiris.managed";

/** The idempotency key of the Run that made the container, and a keyed digest of that Run's request. */
export const requestIdLabel = "io.osiris.request-id";
export const requestDigestLabel = "io.osiris.request-digest";
/** Names the key the digest was made with, so a retry under another key is told apart from a different request. */
export const requestDigestKeyLabel = "io.osiris.request-digest-key";

/** The Osiris process that created the container; several may share one engine. */
export const instanceLabel = "io.osiris.instance";

/** A fresh value for instanceLabel: random, so that no two processes, here or on other hosts, share one. */
export function newInstanceId(): string {
  return randomBytes(6).toString("hex");
}

/** Label keys under this prefix belong to Osiris; clients may not set them. */
export const reservedLabelPrefix = "io.osiris.";

/**
 * Whether clients may see (and select by) a label. Osiris's own bookkeeping
 * stays on the engine: the request digest is derived from env values, and a
 * label a client can read, or probe with a selector, is an oracle for them.
 * Only `io.osiris.managed`, which the API documents, is shown.
 */
export function isClientVisibleLabel(key: string): boolean {
  return key === managedLabel || !key.startsWith(reservedLabelPrefix);
}

/** The labels of a container or event as answers and events show them. */
export function clientVisibleLabels(labels: Record<string, string>): Record<string, string> {
  const visible: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) if (isClientVisibleLabel(key)) visible[key] = value;
  return visible;
}
