import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";
import { eventually, rpcError, testImage } from "./expectations.js";

const aliceToken = `alice-${randomUUID()}`;
const bobToken = `bob-${randomUUID()}`;
const tokens = JSON.stringify([
  { principal: "alice", role: "operator", token: aliceToken },
  { principal: "bob", role: "viewer", token: bobToken },
]);
const managed = { "io.osiris.managed": "true" };

/** The codes of `count` calls made one after another. */
async function codesOf(count: number, call: () => Promise<unknown>): Promise<Code[]> {
  const codes: Code[] = [];
  for (let i = 0; i < count; i++) codes.push((await rpcError(call())).code);
  return codes;
}

describe("the rate limit (OSIRIS_RATE_LIMIT=1: bursts of 2)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_RATE_LIMIT: "1", OSIRIS_TOKENS: tokens } });
  });
  after(() => server.close());

  it("refuses a principal's calls past its burst with RESOURCE_EXHAUSTED naming it, and counts each principal apart", async () => {
    const alice = server.clientWithToken("grpc", aliceToken);
    const codes = await codesOf(5, () => alice.getDockerContainer({ container: "absent" }));
    assert.deepEqual(codes.slice(0, 2), [Code.NotFound, Code.NotFound], "calls within the burst reach the handler");
    assert.equal(codes.at(-1), Code.ResourceExhausted);
    const refused = await rpcError(alice.getDockerContainer({ container: "absent" }));
    assert.match(refused.rawMessage, /^Rate limit exceeded: at most 1 calls per second for "alice"/);
    assert.equal((await rpcError(server.clientWithToken("grpc", bobToken).getDockerContainer({ container: "absent" }))).code, Code.NotFound);
  });

  it("limits callers without valid credentials per address, before authentication", async () => {
    const codes = await codesOf(5, () => server.client("connect-json").getDockerContainer({ container: "absent" }));
    assert.equal(codes[0], Code.Unauthenticated);
    assert.equal(codes.at(-1), Code.ResourceExhausted);
    assert.ok(server.logLines.some((line) => line.includes("refusing calls without valid credentials")));
  });

  it("never limits health checks", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    for (let i = 0; i < 10; i++) await health.check({ service: "" });
  });
});

describe("unary calls in flight (OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL=1)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_MAX_INFLIGHT_PER_PRINCIPAL: "1", OSIRIS_TOKENS: tokens } });
  });
  after(() => server.close());

  it("refuses a second call while a Wait holds the slot, counts principals apart, and frees the slot when the Wait ends", async () => {
    const id = server.engine.addContainer({ name: "long", labels: managed, state: "running" });
    const alice = server.clientWithToken("grpc", aliceToken);
    const waiting = alice.waitDockerContainer({ container: "long" });
    assert.ok(await eventually(() => server.engine.calls.waitContainer === 1), "the wait reached the engine");
    const refused = await rpcError(alice.getDockerContainer({ container: "long" }));
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.match(refused.rawMessage, /^Too many calls in flight: at most 1 for "alice"/);
    assert.equal((await server.clientWithToken("grpc", bobToken).getDockerContainer({ container: "long" })).container?.id, id);
    server.engine.exit(id, 0);
    assert.equal((await waiting).exitCode, 0);
    assert.equal((await alice.getDockerContainer({ container: "long" })).container?.id, id, "the slot is free again");
  });
});

describe("open streams (OSIRIS_MAX_STREAMS_PER_PRINCIPAL=2)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_MAX_STREAMS_PER_PRINCIPAL: "2", OSIRIS_TOKENS: tokens } });
  });
  after(() => server.close());

  it("refuses a third open stream with RESOURCE_EXHAUSTED, counts principals apart, and frees a slot when one closes", async () => {
    const id = server.engine.addContainer({ name: "tailed", labels: managed, state: "running" });
    server.engine.writeLogs(id, "stdout", "first line\n");
    const follow = (token: string) => {
      const closed = new AbortController();
      const messages = server
        .clientWithToken("grpc", token)
        .streamDockerContainerLogs({ container: "tailed", follow: true }, { signal: closed.signal })
        [Symbol.asyncIterator]();
      return { close: () => closed.abort(), first: messages.next() };
    };
    const first = follow(aliceToken);
    const second = follow(aliceToken);
    await Promise.all([first.first, second.first]);
    const refused = await rpcError(follow(aliceToken).first);
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.match(refused.rawMessage, /^Too many open streams: at most 2 for "alice"/);
    const bobs = follow(bobToken);
    assert.equal((await bobs.first).done, false, "another principal has a count of its own");
    first.close();
    assert.ok(
      await eventually(async () => {
        const attempt = follow(aliceToken);
        const opened = await attempt.first.then(
          () => true,
          () => false,
        );
        attempt.close();
        return opened;
      }),
      "closing a stream frees its slot",
    );
    second.close();
    bobs.close();
  });
});

describe("request size (OSIRIS_READ_MAX_BYTES)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_READ_MAX_BYTES: "4096" } });
  });
  after(() => server.close());

  it("refuses a larger request with RESOURCE_EXHAUSTED on every protocol, and creates nothing", async () => {
    for (const protocol of ["connect-json", "grpc", "grpc-web"] as const) {
      const error = await rpcError(server.client(protocol).runDockerContainer({ image: testImage, env: { BIG: "x".repeat(10_000) } }));
      assert.equal(error.code, Code.ResourceExhausted, protocol);
    }
    assert.equal(server.engine.calls.createContainer, 0);
  });
});
