import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Protocol } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { LineSplitter, LogStore, splitAround } from "../../client-examples/dashboard/src/log-store.js";
import { FormError, parseAssignments, parsePorts, splitCommand } from "../../client-examples/dashboard/src/requests.js";

const line = (seconds: number, nanos: number, source: number, text: string) => ({ seconds, nanos, source, stderr: false, text });

describe("the dashboard's log store", () => {
  it("merges lines of several containers by time, keeping arrival order for equal times", () => {
    const store = new LogStore();
    store.add([line(10, 0, 0, "a1"), line(12, 0, 0, "a3")]);
    store.add([line(11, 500, 1, "b2"), line(12, 0, 1, "b-same-time"), line(13, 0, 1, "b4")]);
    store.add([line(9, 0, 2, "c0")]);
    assert.deepEqual(
      store.lines.map((l) => l.text),
      ["c0", "a1", "b2", "a3", "b-same-time", "b4"],
    );
  });

  it("appends 100,000 in-order lines and finds a needle among them case-insensitively", () => {
    const store = new LogStore();
    for (let batch = 0; batch < 100; batch++) {
      store.add(Array.from({ length: 1000 }, (_, i) => line(batch, i, 0, `Line ${batch * 1000 + i}`)));
    }
    assert.equal(store.lines.length, 100_000);
    assert.deepEqual(store.search("line 99999"), [99_999]);
    assert.equal(store.search("LINE 5000").length, 11);
    assert.deepEqual(store.search(""), []);
  });

  it("cuts a line around every match of the search, for highlighting", () => {
    assert.deepEqual(splitAround("Error: error here", "error"), ["", "Error", ": ", "error", " here"]);
    assert.deepEqual(splitAround("nothing", "x"), ["nothing"]);
  });

  it("splits chunks into lines, keeping a line cut between chunks whole", () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push("one\ntw"), ["one"]);
    assert.deepEqual(splitter.push("o\r\nthree"), ["two"]);
    assert.deepEqual(splitter.flush(), ["three"]);
  });
});

describe("the dashboard's run form notation", () => {
  it("reads docker's -p forms", () => {
    assert.deepEqual(
      parsePorts("80, 8080:80 127.0.0.1:5353:53/udp [::1]:9000:9000/tcp 7/sctp"),
      [
        { containerPort: 80, hostPort: 0, hostIp: "", protocol: Protocol.TCP },
        { containerPort: 80, hostPort: 8080, hostIp: "", protocol: Protocol.TCP },
        { containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1", protocol: Protocol.UDP },
        { containerPort: 9000, hostPort: 9000, hostIp: "::1", protocol: Protocol.TCP },
        { containerPort: 7, hostPort: 0, hostIp: "", protocol: Protocol.SCTP },
      ],
    );
    assert.throws(() => parsePorts("80:tcp"), (error) => error instanceof FormError && error.field === "ports" && /80:tcp/.test(error.message));
  });

  it("reads KEY=VALUE lines, values keeping their = signs, and names a bad line", () => {
    assert.deepEqual(parseAssignments("A=1\n\n# note\nB=x=y\nEMPTY=", "env"), { A: "1", B: "x=y", EMPTY: "" });
    assert.throws(() => parseAssignments("A=1\nnope", "env"), /line 2/);
  });

  it("splits a command as a shell splits words, without expanding anything", () => {
    assert.deepEqual(splitCommand(`sh -c 'echo "$HOME"; sleep 1' "two words" a\\ b`), ["sh", "-c", 'echo "$HOME"; sleep 1', "two words", "a b"]);
    assert.deepEqual(splitCommand("  "), []);
    assert.deepEqual(splitCommand(`''`), [""]);
    assert.throws(() => splitCommand(`echo 'open`), (error) => error instanceof FormError && error.field === "command");
  });
});
