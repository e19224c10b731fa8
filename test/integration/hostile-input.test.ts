import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  GetDockerContainerRequestSchema,
  ListDockerContainersRequestSchema,
  PullDockerImageRequestSchema,
  PullPolicy,
  RemoveDockerContainerRequestSchema,
  RestartDockerContainerRequestSchema,
  RunDockerContainerRequestSchema,
  StartDockerContainerRequestSchema,
  StopDockerContainerRequestSchema,
  StreamDockerContainerLogsRequestSchema,
  WaitDockerContainerRequestSchema,
  WatchDockerEventsRequestSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { openRunPolicy } from "../../server/containers/policy/run-policy.js";
import { docker } from "../support/engine-fixtures.js";
import { envelope } from "../support/raw-wire.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

// Any request that decodes into a valid Run may only name this unreachable
// loopback registry (the allowlist below refuses everything else), so no
// case can pull from anywhere or create a container.
const fuzzImage = "127.0.0.1:5999/fuzz/none:1";
const absent = { container: "osiris-fuzz-absent" };
const validMessages = {
  RunDockerContainer: toBinary(
    RunDockerContainerRequestSchema,
    create(RunDockerContainerRequestSchema, { image: fuzzImage, name: "fuzz-run", env: { KEY: "value" }, pullPolicy: PullPolicy.NEVER }),
  ),
  StopDockerContainer: toBinary(StopDockerContainerRequestSchema, create(StopDockerContainerRequestSchema, absent)),
  GetDockerContainer: toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, absent)),
  ListDockerContainers: toBinary(ListDockerContainersRequestSchema, create(ListDockerContainersRequestSchema, { all: true, pageSize: 5 })),
  StartDockerContainer: toBinary(StartDockerContainerRequestSchema, create(StartDockerContainerRequestSchema, absent)),
  RestartDockerContainer: toBinary(RestartDockerContainerRequestSchema, create(RestartDockerContainerRequestSchema, absent)),
  RemoveDockerContainer: toBinary(RemoveDockerContainerRequestSchema, create(RemoveDockerContainerRequestSchema, absent)),
  WaitDockerContainer: toBinary(WaitDockerContainerRequestSchema, create(WaitDockerContainerRequestSchema, absent)),
  StreamDockerContainerLogs: toBinary(StreamDockerContainerLogsRequestSchema, create(StreamDockerContainerLogsRequestSchema, absent)),
  WatchDockerEvents: toBinary(WatchDockerEventsRequestSchema, create(WatchDockerEventsRequestSchema, { container: "osiris-fuzz-absent" })),
  PullDockerImage: toBinary(PullDockerImageRequestSchema, create(PullDockerImageRequestSchema, { image: fuzzImage })),
};
const rpcs = Object.keys(validMessages) as (keyof typeof validMessages)[];

type Wire = "grpc" | "grpc-web" | "connect-proto" | "connect-json";
const contentTypes: Record<Wire, string> = {
  grpc: "application/grpc",
  "grpc-web": "application/grpc-web+proto",
  "connect-proto": "application/proto",
  "connect-json": "application/json",
};

interface Answer {
  httpStatus: number;
  /** The gRPC status (from headers or trailers), or the Connect error code. */
  code: string;
  message: string;
}

/** One raw HTTP/2 request, so every byte of the body is ours to choose. */
function rawHttp2(session: http2.ClientHttp2Session, path: string, contentType: string, body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // A deadline, because a well-formed WatchDockerEvents rightly stays open until it passes.
    const request = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      te: "trailers",
      "grpc-timeout": "1S",
      "connect-timeout-ms": "1000",
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    request.setTimeout(10_000, () => request.close(http2.constants.NGHTTP2_CANCEL));
    request.on("response", (h) => (headers = h));
    request.on("trailers", (t) => (trailers = t));
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("error", reject);
    request.on("close", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
      const grpcMessage = trailers["grpc-message"] ?? headers["grpc-message"];
      if (grpcStatus !== undefined) {
        resolve({ httpStatus: Number(headers[":status"]), code: String(grpcStatus), message: decodeURIComponent(String(grpcMessage ?? "")) });
        return;
      }
      // gRPC-Web puts its trailers in the body.
      const webStatus = /grpc-status:\s*(\d+)/.exec(body)?.[1];
      if (webStatus !== undefined) {
        const webMessage = /grpc-message:\s*([^\r\n]*)/.exec(body)?.[1] ?? "";
        resolve({ httpStatus: Number(headers[":status"]), code: webStatus, message: decodeURIComponent(webMessage) });
        return;
      }
      let parsed: { code?: string; message?: string } = {};
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        parsed = {};
      }
      resolve({ httpStatus: Number(headers[":status"]), code: parsed.code ?? `http ${headers[":status"]}`, message: parsed.message ?? body });
    });
    request.end(body);
  });
}

/** An answer is proper when it is a status code a client can act on, not a crash or a leaked internal. */
function assertProper(answer: Answer, what: string): void {
  assert.doesNotMatch(answer.message, /\n\s+at |node:internal|\.ts:\d+/, `no stack trace (${what})`);
  // Undecodable protobuf included: the client's bytes are at fault, so INVALID_ARGUMENT, never INTERNAL.
  const internal = ["13", "2", "internal", "unknown"].includes(answer.code);
  assert.ok(!internal, `no INTERNAL/UNKNOWN for ${what}: ${JSON.stringify(answer)}`);
  assert.ok(answer.httpStatus > 0, `an HTTP answer for ${what}`);
}

/** fast-check's failure names the counterexample; this adds what was wrong with it. */
async function check(property: fc.IAsyncProperty<unknown[]>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { seed: 1128, numRuns });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${(error as Error).message}\ncause: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

describe("hostile input on every RPC and protocol (fast-check, fixed seed)", () => {
  let server: TestServer;
  let session: http2.ClientHttp2Session;
  let containersBefore: number;
  before(async () => {
    server = await startTestServer(undefined, {
      readMaxBytes: 64 * 1024,
      runPolicy: { ...openRunPolicy, allowedImages: ["127.0.0.1:5999/*"] },
    });
    session = http2.connect(server.baseUrl);
    containersBefore = (await docker.listContainers({ all: true })).length;
  });
  after(async () => {
    session.close();
    await server.close();
  });

  const wire = fc.constantFrom<Wire>("grpc", "grpc-web", "connect-proto", "connect-json");
  const rpc = fc.constantFrom(...rpcs);
  const counts: Record<string, number> = {};
  const tried = (kind: string) => (counts[kind] = (counts[kind] ?? 0) + 1);

  const send = async (rpcName: string, protocol: Wire, payload: Uint8Array, enveloped = protocol.startsWith("grpc")) =>
    rawHttp2(session, `/osiris.docker.v1.DockerService/${rpcName}`, contentTypes[protocol], enveloped ? envelope(payload) : payload);

  it("answers random bytes with a proper error", async () => {
    await check(
      fc.asyncProperty(rpc, wire, fc.uint8Array({ maxLength: 512 }), fc.boolean(), async (name, protocol, bytes, rawBody) => {
        tried("random bytes");
        assertProper(await send(name, protocol, bytes, !rawBody && protocol.startsWith("grpc")), `random bytes to ${name} over ${protocol}`);
      }),
      600,
    );
  });

  it("answers truncated, extended and bit-flipped protobuf with a proper error", async () => {
    await check(
      fc.asyncProperty(
        rpc,
        fc.constantFrom<Wire>("grpc", "grpc-web", "connect-proto"),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.constantFrom("truncate", "extend", "flip"),
        async (name, protocol, position, extra, mutation) => {
          tried(`${mutation} protobuf`);
          const valid = validMessages[name];
          const at = position % valid.length;
          const mutated =
            mutation === "truncate"
              ? valid.subarray(0, at)
              : mutation === "extend"
                ? Uint8Array.from([...valid, ...extra])
                : Uint8Array.from(valid, (byte, i) => (i === at ? byte ^ (extra[0]! | 1) : byte));
          assertProper(await send(name, protocol, mutated), `${mutation} protobuf to ${name} over ${protocol}`);
        },
      ),
      500,
    );
  });

  it("answers JSON with wrong types, unknown fields, huge strings, deep nesting and invalid UTF-8 with a proper error", async () => {
    const hostileJson = fc.oneof(
      fc.json().map((json) => Buffer.from(json)),
      fc.record({ image: fc.anything(), container: fc.anything(), env: fc.anything(), ports: fc.anything() }).map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
      fc.record({ unknownField: fc.string(), image: fc.constant(fuzzImage) }).map((v) => Buffer.from(JSON.stringify(v))),
      fc.nat({ max: 200_000 }).map((n) => Buffer.from(JSON.stringify({ image: "x".repeat(n), container: "y".repeat(n) }))),
      fc.integer({ min: 10, max: 5000 }).map((depth) => Buffer.from(`${'{"env":'.repeat(depth)}{}${"}".repeat(depth)}`)),
      fc.uint8Array({ minLength: 1, maxLength: 32 }).map((bytes) => Buffer.concat([Buffer.from('{"container":"'), Buffer.from([0xc3, 0x28, ...bytes]), Buffer.from('"}')])),
    );
    await check(
      fc.asyncProperty(rpc, hostileJson, async (name, body) => {
        tried("hostile JSON");
        assertProper(await send(name, "connect-json", body), `hostile JSON to ${name}`);
      }),
      300,
    );
  });

  it("answers invalid UTF-8 inside protobuf strings, wrong content types, oversized bodies and lying length prefixes", async () => {
    const invalidUtf8 = Uint8Array.from([0x0a, 0x04, 0x61, 0xc3, 0x28, 0xff]); // field 1 (image / container) with invalid UTF-8
    const contentTypeCases = ["text/plain", "application/xml", "application/grpc+json-but-not", "multipart/form-data; boundary=x", ""];
    await check(
      fc.asyncProperty(rpc, fc.constantFrom(...contentTypeCases), fc.integer({ min: 1, max: 2 ** 31 }), async (name, contentType, lie) => {
        tried("invalid UTF-8 / content type / size / lying length");
        for (const protocol of ["grpc", "grpc-web", "connect-proto"] as const) {
          assertProper(await send(name, protocol, invalidUtf8), `invalid UTF-8 to ${name} over ${protocol}`);
        }
        assertProper(await rawHttp2(session, `/osiris.docker.v1.DockerService/${name}`, contentType, validMessages[name]), `content type ${contentType}`);
        assertProper(await send(name, "grpc", new Uint8Array(70 * 1024)), "a body over the size limit");
        const lying = envelope(validMessages[name], validMessages[name].length + lie);
        assertProper(await rawHttp2(session, `/osiris.docker.v1.DockerService/${name}`, "application/grpc", lying), `a length prefix of +${lie}`);
      }),
      40,
    );
  });

  it("created no container and kept serving through all of it", async () => {
    console.log(`hostile input cases tried: ${JSON.stringify(counts)}`);
    assert.equal((await docker.listContainers({ all: true })).length, containersBefore);
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
  });
});
