import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestServer, type TestServer } from "../support/test-server.js";

const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

interface Outcome {
  /** What the server sent back before closing, if anything. */
  reply: string;
  /** "closed" when the server ended the connection, "open" when it was still open at the bound. */
  end: "closed" | "open";
  ms: number;
}

/** Writes bytes on a raw loopback connection (optionally slowly), then waits, bounded, for the server to close it. */
function exchange(port: number, chunks: Buffer[], { gapMs = 0, halfClose = true, boundMs = 15_000 } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: "127.0.0.1", port });
    const replies: Buffer[] = [];
    let settled = false;
    const finish = (end: Outcome["end"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(bound);
      socket.destroy();
      resolve({ reply: Buffer.concat(replies).toString("latin1"), end, ms: Date.now() - started });
    };
    const bound = setTimeout(() => finish("open"), boundMs);
    socket.on("data", (chunk: Buffer) => replies.push(chunk));
    socket.on("close", () => finish("closed"));
    socket.on("error", () => finish("closed"));
    socket.on("connect", async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (halfClose && !socket.destroyed) socket.end();
    });
  });
}

describe("connection-level garbage and slow clients", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it("closes connections that send random bytes, HTTP/1.1 garbage or broken HTTP/2 frames (fast-check, fixed seed)", async () => {
    const counts: Record<string, number> = {};
    const garbage = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((b) => ["random bytes", Buffer.from(b)] as const),
      fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => ["HTTP/2 preface then random frames", Buffer.concat([Buffer.from(http2Preface), Buffer.from(b)])] as const),
      fc.string({ maxLength: 300 }).map((s) => ["HTTP/1.1 garbage", Buffer.from(`POST /osiris.docker.v1.DockerService/RunDockerContainer HTTP/1.1\r\n${s}\r\n\r\n`)] as const),
      fc.string({ maxLength: 100 }).map((s) => ["bad request line", Buffer.from(`${s} / HTTP/9.9\r\n\r\n`)] as const),
    );
    const cases = fc.sample(garbage, { seed: 1128, numRuns: 200 });
    const outcomes: Outcome[] = [];
    // Twenty at a time: bounded in count, in concurrency and (through exchange's bound) in time.
    for (let i = 0; i < cases.length; i += 20) {
      outcomes.push(
        ...(await Promise.all(
          cases.slice(i, i + 20).map(([kind, bytes]) => {
            counts[kind] = (counts[kind] ?? 0) + 1;
            return exchange(server.port, [bytes]);
          }),
        )),
      );
    }
    console.log(`connection garbage cases tried: ${JSON.stringify(counts)}; slowest close ${Math.max(...outcomes.map((o) => o.ms))} ms`);
    const open = outcomes.filter((o) => o.end === "open");
    assert.deepEqual(open, [], "the server closes every such connection");
    assert.ok(outcomes.every((o) => !/\n\s+at |node:internal/.test(o.reply)), "no stack trace in any reply");
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200, "and keeps serving");
  });

  it("drops clients that send their HTTP/1.1 headers or HTTP/2 preface too slowly, and keeps serving others meanwhile", async () => {
    const slowHeaders = exchange(
      server.port,
      [..."POST /osiris.docker.v1.DockerService/GetDockerContainer HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "].map((c) => Buffer.from(c)).concat(
        Array.from({ length: 30 }, () => Buffer.from("a")),
      ),
      { gapMs: 1000, halfClose: false, boundMs: 40_000 },
    );
    const slowPreface = exchange(server.port, [...http2Preface.slice(0, 10)].map((c) => Buffer.from(c)), {
      gapMs: 2000,
      halfClose: false,
      boundMs: 40_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200, "others are served while the slow ones trickle");
    const [headers, preface] = await Promise.all([slowHeaders, slowPreface]);
    console.log(`slow clients dropped after: headers ${headers.ms} ms, preface ${preface.ms} ms`);
    assert.equal(headers.end, "closed");
    assert.equal(preface.end, "closed");
    // The server's limits are 10 s for headers and for the preface; the trickles would take much longer.
    assert.ok(headers.ms < 30_000 && preface.ms < 30_000);
  });
});
