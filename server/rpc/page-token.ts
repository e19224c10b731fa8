import { createHash } from "node:crypto";
import type { ListCursor, ListQuery } from "../containers/containers.js";

/**
 * Page tokens are opaque to clients: a cursor into the list's order plus a
 * fingerprint of the filters, so a token cannot be replayed with other filters
 * and silently skip or repeat containers.
 */
export function encodePageToken(cursor: ListCursor, query: Omit<ListQuery, "after" | "pageSize">): string {
  return Buffer.from(JSON.stringify({ c: cursor.created, i: cursor.id, f: filterFingerprint(query) })).toString("base64url");
}

/** The cursor in the token, or a description of what is wrong with it. */
export function decodePageToken(
  token: string,
  query: Omit<ListQuery, "after" | "pageSize">,
): { cursor: ListCursor } | { problem: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return { problem: "is not a token this server issued" };
  }
  const { c, i, f } = (decoded ?? {}) as { c?: unknown; i?: unknown; f?: unknown };
  if (typeof c !== "number" || !Number.isSafeInteger(c) || typeof i !== "string" || !/^[0-9a-f]{64}$/.test(i) || typeof f !== "string") {
    return { problem: "is not a token this server issued" };
  }
  if (f !== filterFingerprint(query)) return { problem: "was issued for different filters; start again without a page_token" };
  return { cursor: { created: c, id: i } };
}

function filterFingerprint(query: Omit<ListQuery, "after" | "pageSize">): string {
  const canonical = JSON.stringify([
    query.all || query.states.length > 0,
    Object.entries(query.labelSelector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    query.namePrefix,
    [...query.states].sort(),
    query.managedOnly,
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}
