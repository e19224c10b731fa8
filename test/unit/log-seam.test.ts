import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { comparableEngineTime, comparableTime, LogEntryParser, type LogEntry } from "../../server/containers/logs/log-entries.js";
import { LogSeam } from "../../server/containers/logs/log-seam.js";

/** An entry logged `nanos` nanoseconds into 02:00:00 on 2026-11-29. */
function entry(nanos: number, text: string, stream: "stdout" | "stderr" = "stdout"): LogEntry {
  return { stream, time: `2026-11-29T02:00:00.${String(nanos).padStart(9, "0")}Z`, data: Buffer.from(`${text}\n`) };
}

function admitted(seam: LogSeam, live: LogEntry[]): string[] {
  return live.filter((e) => seam.admits(e)).map((e) => e.data.toString().trim());
}

describe("LogSeam joins a follower's history to the shared live entries", () => {
  it("drops the live entries the history already had, and keeps the rest in order", () => {
    const seam = new LogSeam("");
    for (let i = 1; i <= 5; i++) seam.record(entry(i, `l${i}`));
    const live = [3, 4, 5, 6, 7, 8].map((i) => entry(i, `l${i}`));
    assert.deepEqual(admitted(seam, live), ["l6", "l7", "l8"]);
  });

  it("keeps an entry stamped before the history's last one that the history did not have (stdout and stderr race)", () => {
    const seam = new LogSeam("");
    seam.record(entry(10, "out1"));
    seam.record(entry(30, "out2"));
    const live = [entry(30, "out2"), entry(20, "err1", "stderr"), entry(40, "out3")];
    assert.deepEqual(admitted(seam, live), ["err1", "out3"]);
  });

  it("counts pieces of one long line, which share a time, one by one", () => {
    const seam = new LogSeam("");
    seam.record(entry(5, "piece"));
    seam.record(entry(5, "piece"));
    const live = [entry(5, "piece"), entry(5, "piece"), entry(5, "piece"), entry(6, "next")];
    assert.deepEqual(admitted(seam, live), ["piece", "next"]);
  });

  it("drops live entries older than the history's window, as the history had them", () => {
    const seam = new LogSeam("");
    for (let i = 1000; i < 2000; i++) seam.record(entry(i, `l${i}`));
    assert.deepEqual(admitted(seam, [entry(1001, "l1001"), entry(1999, "l1999"), entry(2000, "l2000")]), ["l2000"]);
  });

  it("admits every live entry after an empty history", () => {
    const seam = new LogSeam("");
    assert.deepEqual(admitted(seam, [entry(1, "a"), entry(2, "b")]), ["a", "b"]);
  });

  it("uses a tail-0 marker only as the place to start: neither it nor anything before it is shown", () => {
    const seam = new LogSeam("");
    seam.record(entry(50, "marker"));
    assert.deepEqual(admitted(seam, [entry(40, "old"), entry(50, "marker"), entry(60, "new")]), ["new"]);
  });

  it("drops live entries before `since`", () => {
    const seam = new LogSeam(comparableEngineTime("1795917600.000000100"));
    assert.deepEqual(admitted(seam, [entry(50, "before"), entry(100, "at"), entry(150, "after")]), ["at", "after"]);
  });
});

describe("log entries from the engine", () => {
  it("reads each frame's time off its front, wherever the chunks cut the frames", () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(`2026-11-29T02:00:00.000000001Z ${text}`);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const bytes = Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]);
    const parser = new LogEntryParser(false);
    const entries = [...parser.push(bytes.subarray(0, 13)), ...parser.push(bytes.subarray(13))];
    assert.deepEqual(
      entries.map((e) => [e.stream, e.time, e.data.toString()]),
      [
        ["stdout", "2026-11-29T02:00:00.000000001Z", "out\n"],
        ["stderr", "2026-11-29T02:00:00.000000001Z", "err\n"],
      ],
    );
  });

  it("orders times as strings once made comparable, whatever zone or precision they came in", () => {
    assert.equal(comparableTime("2026-11-29T03:00:00.5+01:00"), "2026-11-29T02:00:00.500000000Z");
    assert.equal(comparableEngineTime("1795917600.5"), "2026-11-29T02:00:00.500000000Z");
    assert.equal(comparableTime("not a time"), "");
  });
});
