import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodePageToken, encodePageToken } from "../../server/rpc/page-token.js";

const query = { all: true, labelSelector: { b: "2", a: "1" }, namePrefix: "web", states: [], managedOnly: true };
const cursor = { created: 1_700_000_000, id: "f".repeat(64) };

describe("page tokens", () => {
  it("round-trip with the same filters, whatever the order of the selector's keys", () => {
    const token = encodePageToken(cursor, query);
    assert.deepEqual(decodePageToken(token, { ...query, labelSelector: { a: "1", b: "2" } }), { cursor });
  });

  it("are refused with other filters, and when forged", () => {
    const token = encodePageToken(cursor, query);
    assert.ok("problem" in decodePageToken(token, { ...query, namePrefix: "db" }));
    assert.ok("problem" in decodePageToken("not-a-token", query));
    const forged = Buffer.from(JSON.stringify({ c: 1, i: "x", f: "y" })).toString("base64url");
    assert.ok("problem" in decodePageToken(forged, query));
  });
});
