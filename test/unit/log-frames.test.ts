import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LogFrameDecoder, TimestampedLineSplitter } from "../../server/containers/engine/log-frames.js";

function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("LogFrameDecoder", () => {
  it("decodes the same frames however the socket cuts the bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<1 | 2>(1, 2), fc.uint8Array({ minLength: 0, maxLength: 40 })), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map(([stream, payload]) => frame(stream, Buffer.from(payload))));
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const decoder = new LogFrameDecoder();
          const decoded = [];
          let start = 0;
          for (const point of [...points, wire.length]) {
            decoded.push(...decoder.push(wire.subarray(start, point)));
            start = point;
          }
          assert.deepEqual(
            decoded.map((f) => [f.stream, [...f.data]]),
            frames.map(([stream, payload]) => [stream === 2 ? "stderr" : "stdout", [...payload]]),
          );
          assert.equal(decoder.leftover, 0);
        },
      ),
      { seed: 1128, numRuns: 300 },
    );
  });
});

describe("TimestampedLineSplitter", () => {
  it("takes the time off each line and carries a cut line over", () => {
    const splitter = new TimestampedLineSplitter();
    const first = splitter.push(Buffer.from("2026-11-28T10:00:00.000000001Z hello\n2026-11-28T10:00:01Z wor"));
    assert.deepEqual(
      first.map((l) => [l.time, l.data.toString()]),
      [["2026-11-28T10:00:00.000000001Z", "hello\n"]],
    );
    const second = splitter.push(Buffer.from("ld\n"));
    assert.deepEqual(
      second.map((l) => [l.time, l.data.toString()]),
      [["2026-11-28T10:00:01Z", "world\n"]],
    );
    assert.deepEqual(splitter.flush(), []);
  });
});
