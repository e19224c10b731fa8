import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { LogStream, type StreamDockerContainerLogsResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { engineSocketConnections } from "../support/engine-connections.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type ProtocolName, type TestServer } from "../support/test-server.js";

const run = newTestRun();
const decoder = new TextDecoder();

async function collect(stream: AsyncIterable<StreamDockerContainerLogsResponse>): Promise<StreamDockerContainerLogsResponse[]> {
  const messages: StreamDockerContainerLogsResponse[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

function text(messages: StreamDockerContainerLogsResponse[], stream: LogStream): string {
  return messages
    .filter((m) => m.stream === stream)
    .map((m) => decoder.decode(m.data))
    .join("");
}

describe("StreamDockerContainerLogs against a real engine", () => {
  let server: TestServer;
  /** Interleaves stdout and stderr, then exits. */
  let chatty = "";

  before(async () => {
    server = await startTestServer(undefined, { maxStreamsPerPrincipal: 500 });
    const { container } = await server.client("grpc").runDockerContainer({
      image: testImage,
      command: ["sh", "-c", "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done"],
      labels: run.labels,
    });
    chatty = container!.id;
    await server.client("grpc").waitDockerContainer({ container: chatty });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  for (const protocol of ["grpc", "grpc-web", "connect-json"] as ProtocolName[]) {
    it(`tags stdout and stderr apart, from the engine's frame headers (${protocol})`, async () => {
      const messages = await collect(server.client(protocol).streamDockerContainerLogs({ container: chatty }));
      assert.equal(text(messages, LogStream.STDOUT), "out1\nout2\nout3\nout4\nout5\n");
      assert.equal(text(messages, LogStream.STDERR), "err1\nerr2\nerr3\nerr4\nerr5\n");
    });
  }

  it("sends one stream when asked, the last lines with tail, and a time per line with timestamps", async () => {
    const client = server.client("grpc-web");
    const stderrOnly = await collect(client.streamDockerContainerLogs({ container: chatty, stderr: true }));
    assert.ok(stderrOnly.length > 0 && stderrOnly.every((m) => m.stream === LogStream.STDERR));
    const stamped = await collect(client.streamDockerContainerLogs({ container: chatty, timestamps: true }));
    const tail = await collect(client.streamDockerContainerLogs({ container: chatty, timestamps: true, tailLines: 4 }));
    // The engine counts the tail over both streams, in the order it logged the lines.
    assert.deepEqual(tail, stamped.slice(-4));
    assert.equal(stamped.length, 10);
    for (const message of stamped) {
      assert.ok(message.timestamp && message.timestamp.seconds > 0n, "each line has its time");
      assert.match(decoder.decode(message.data), /^(out|err)\d\n$/, "the time is taken off the line");
    }
    const since = stamped[6]!.timestamp!;
    const later = await collect(client.streamDockerContainerLogs({ container: chatty, timestamps: true, since }));
    assert.equal(later.length, 4);
  });

  it("follows until the container exits, then ends by itself", async () => {
    const client = server.client("grpc");
    const { container } = await client.runDockerContainer({
      image: testImage,
      command: ["sh", "-c", "echo first; sleep 1; echo second; sleep 0.5"],
      labels: run.labels,
    });
    const messages = await collect(client.streamDockerContainerLogs({ container: container!.id, follow: true }));
    assert.equal(text(messages, LogStream.STDOUT), "first\nsecond\n");
    const state = await docker.getContainer(container!.id).inspect();
    assert.equal(state.State.Running, false, "the stream ended because the container did");
  });

  it("passes a TTY container's output through raw, as stdout", async () => {
    const tty = await docker.createContainer({
      Image: testImage,
      Cmd: ["sh", "-c", "printf 'raw\\x01\\x00\\x00\\x00 bytes\\n'; echo to-stderr >&2"],
      Tty: true,
      Labels: { ...run.labels, "io.osiris.managed": "true" },
    });
    await tty.start();
    await tty.wait();
    const messages = await collect(server.client("grpc-web").streamDockerContainerLogs({ container: tty.id }));
    assert.ok(messages.every((m) => m.stream === LogStream.STDOUT));
    assert.equal(text(messages, LogStream.STDOUT), "raw\x01\x00\x00\x00 bytes\r\nto-stderr\r\n");
  });

  it("closes every engine connection when 100 followers cancel (grpc and grpc-web)", async (t) => {
    const { container } = await server.client("grpc").runDockerContainer({
      image: testImage,
      command: ["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
      labels: run.labels,
    });
    const baseline = engineSocketConnections();
    const followers = Array.from({ length: 100 }, (_, index) => {
      const controller = new AbortController();
      const client = server.client(index % 2 === 0 ? "grpc" : "grpc-web");
      let received = 0;
      const done = (async () => {
        try {
          for await (const _ of client.streamDockerContainerLogs({ container: container!.id, follow: true, tailLines: 0 }, { signal: controller.signal })) {
            received++;
          }
          return Code.Unknown;
        } catch (error) {
          return (error as { code?: Code }).code;
        }
      })();
      return { controller, done, received: () => received };
    });
    assert.ok(await eventually(async () => followers.every((f) => f.received() > 0), 20_000), "every follower gets output");
    const during = engineSocketConnections();
    t.diagnostic(`100 log followers: ${during} engine connections open (${baseline} before)`);
    // The followers share one engine follow connection (log-sharing.test.ts counts it); the rest are the
    // keep-alive sockets of their inspects and one-off history reads, which close once idle.
    for (const follower of followers) follower.controller.abort();
    const codes = await Promise.all(followers.map((f) => f.done));
    assert.ok(codes.every((code) => code === Code.Canceled), "every follower ends CANCELED on the client");
    assert.ok(
      await eventually(async () => engineSocketConnections() <= baseline, 20_000),
      `engine connections return to ${baseline} after the cancels (now ${engineSocketConnections()})`,
    );
    await server.client("grpc").removeDockerContainer({ container: container!.id, force: true });
  });

  it("answers NOT_FOUND for a missing container and INVALID_ARGUMENT for until with follow", async () => {
    const client = server.client("grpc-web");
    const missing = await rpcError(collect(client.streamDockerContainerLogs({ container: run.name("absent") })));
    assert.equal(missing.code, Code.NotFound);
    const bad = await rpcError(
      collect(client.streamDockerContainerLogs({ container: chatty, follow: true, until: { seconds: 1n, nanos: 0 } })),
    );
    assert.equal(bad.code, Code.InvalidArgument);
    assert.equal(bad.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "until");
  });
});
