import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AsyncQueue } from "../../server/containers/events/async-queue.js";

const bytes = (value: string) => value.length;

describe("AsyncQueue backlog limits", () => {
  it("reports false once the backlog passes its byte limit, though far under its count limit", () => {
    const queue = new AsyncQueue<string>({ maxItems: 10_000, maxBytes: 1000, sizeOf: bytes });
    assert.equal(queue.push("x".repeat(600)), true);
    assert.equal(queue.push("x".repeat(600)), false);
    assert.equal(queue.bytes, 1200);
  });

  it("reports false past its count limit, whatever the sizes", () => {
    const queue = new AsyncQueue<string>({ maxItems: 2, maxBytes: 1_000_000, sizeOf: bytes });
    assert.equal(queue.push("a"), true);
    assert.equal(queue.push("b"), true);
    assert.equal(queue.push("c"), false);
  });

  it("counts the bytes down as the consumer reads", async () => {
    const queue = new AsyncQueue<string>({ maxBytes: 1000, sizeOf: bytes });
    queue.push("x".repeat(700));
    await queue.next(new AbortController().signal);
    assert.equal(queue.bytes, 0);
    assert.equal(queue.push("x".repeat(700)), true);
  });

  it("lets go of its backlog when failed, and gives the consumer the error", async () => {
    const queue = new AsyncQueue<string>({ maxBytes: 1000, sizeOf: bytes });
    queue.push("x".repeat(800));
    queue.push("x".repeat(800));
    queue.fail(new Error("dropped"));
    assert.equal(queue.size, 0);
    assert.equal(queue.bytes, 0);
    await assert.rejects(queue.next(new AbortController().signal), /dropped/);
  });
});
