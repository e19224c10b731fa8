import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LogFrameDecoder, TimestampedLineSplitter, maxTimestampedLineBytes } from "../../server/containers/engine/log-frames.js";
import { EventLineSplitter } from "../../server/containers/events/event-lines.js";

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

  it("sends 10 MB without a newline, stamped every 16 KB, in pieces of about 64 KiB with the line's first time", () => {
    const time = "2026-11-28T10:00:00.000000001Z";
    const entry = Buffer.concat([Buffer.from(`${time} `), Buffer.alloc(16 * 1024 - time.length - 1)]);
    const total = 10 * 1024 * 1024;
    const splitter = new TimestampedLineSplitter();
    const pieces = [];
    // Quadratic re-scanning of 10 MB would take minutes; this loop has to finish.
    for (let sent = 0; sent < total; sent += entry.length) pieces.push(...splitter.push(entry));
    pieces.push(...splitter.flush());
    assert.ok(pieces.length <= Math.ceil(total / maxTimestampedLineBytes) + 1, `${pieces.length} pieces`);
    assert.ok(pieces.every((piece) => piece.time === time && piece.data.length <= maxTimestampedLineBytes + entry.length));
    assert.equal(pieces.reduce((bytes, piece) => bytes + piece.data.length, 0), total - time.length - 1);
  });

  it("gives the end of a long line the long line's time, and the next line its own", () => {
    const splitter = new TimestampedLineSplitter();
    const long = splitter.push(Buffer.concat([Buffer.from("2026-11-28T10:00:00Z "), Buffer.alloc(70_000, 97)]));
    const rest = splitter.push(Buffer.from("end\n2026-11-28T10:00:05Z next\n"));
    assert.deepEqual(long.map((piece) => [piece.time, piece.data.length]), [["2026-11-28T10:00:00Z", 70_000]]);
    assert.deepEqual(rest.map((l) => [l.time, l.data.toString()]), [["2026-11-28T10:00:00Z", "end\n"], ["2026-11-28T10:00:05Z", "next\n"]]);
  });

  it("puts a line cut into many chunks back together whole", () => {
    const line = "2026-11-28T10:00:00Z one line, cut everywhere\n";
    const splitter = new TimestampedLineSplitter();
    const lines = [...line].flatMap((character) => splitter.push(Buffer.from(character)));
    assert.deepEqual(lines.map((l) => [l.time, l.data.toString()]), [["2026-11-28T10:00:00Z", "one line, cut everywhere\n"]]);
  });
});

describe("EventLineSplitter", () => {
  it("puts a line cut between chunks back together, even inside a UTF-8 character", () => {
    const splitter = new EventLineSplitter();
    const wire = Buffer.from('{"a":"é"}\n{"b":1}\n');
    const lines = [...wire].flatMap((byte) => splitter.push(Buffer.from([byte])));
    assert.deepEqual(lines, ['{"a":"é"}', '{"b":1}']);
  });

  it("skips a line over its bound without holding it, and reads the next line", () => {
    const splitter = new EventLineSplitter(1024);
    const lines = [];
    for (let i = 0; i < 100; i++) lines.push(...splitter.push(Buffer.alloc(512, 120)));
    lines.push(...splitter.push(Buffer.from('\n{"ok":true}\n')));
    assert.deepEqual(lines, ['{"ok":true}']);
  });

  it("reads 10 MB of events arriving in 16 KB chunks", () => {
    const event = Buffer.from(`${JSON.stringify({ Type: "container", pad: "x".repeat(1000) })}\n`);
    const wire = Buffer.concat(Array<Buffer>(Math.ceil((10 * 1024 * 1024) / event.length)).fill(event));
    const splitter = new EventLineSplitter();
    let count = 0;
    for (let start = 0; start < wire.length; start += 16 * 1024) count += splitter.push(wire.subarray(start, start + 16 * 1024)).length;
    assert.equal(count, wire.length / event.length);
  });
});
