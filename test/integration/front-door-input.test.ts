import assert from "node:assert/strict";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { endStreamFromJson, errorFromJson } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  DockerService,
  EventType,
  GetDockerContainerRequestSchema,
  type WatchDockerEventsResponse,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { maxSelectorEntries } from "../../server/containers/grammar/label-selector.js";
import { docker, eventually, newTestRun, removeTestContainers, testImage, testRunLabel } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const run = newTestRun();
const service = "/osiris.docker.v1.DockerService";

/** Makes a container as Osiris labels them, straight on the engine, and starts it unless told not to. */
async function managedContainer(name: string, command: string[], start = true): Promise<string> {
  const container = await docker.createContainer({
    Image: testImage,
    name,
    Cmd: command,
    Labels: { ...run.labels, "io.osiris.managed": "true" },
  });
  if (start) await container.start();
  return container.id;
}

async function unmanagedContainer(): Promise<string> {
  return (await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels })).id;
}

/** What a client learns from an answer, whichever protocol carried it. */
interface Answer {
  httpStatus: number;
  code: Code | undefined;
  message: string;
  violations: { field: string; description: string }[];
}

function answerFrom(httpStatus: number, error: ConnectError | undefined): Answer {
  return {
    httpStatus,
    code: error?.code,
    message: error?.rawMessage ?? "",
    violations: error?.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map(({ field, description }) => ({ field, description }))) ?? [],
  };
}

/** A gRPC / gRPC-Web envelope; `flags` 1 marks the message compressed. */
function envelope(payload: Uint8Array, flags = 0): Uint8Array {
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = flags;
  new DataView(frame.buffer).setUint32(1, payload.length);
  frame.set(payload, 5);
  return frame;
}

function frames(body: Uint8Array): { flags: number; data: Uint8Array }[] {
  const found: { flags: number; data: Uint8Array }[] = [];
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    found.push({ flags: body[offset]!, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return found;
}

/** gRPC over HTTP/2 (h2c), raw: the status comes from the trailers, or the headers of a trailers-only answer. */
function grpcCall(baseUrl: string, method: string, body: Uint8Array, contentType = "application/grpc", extraHeaders: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const request = session.request({ ":method": "POST", ":path": `${service}/${method}`, "content-type": contentType, te: "trailers", "grpc-timeout": "10S", ...extraHeaders });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    request.setTimeout(30_000, () => request.close(http2.constants.NGHTTP2_CANCEL));
    request.on("response", (h) => (headers = h));
    request.on("trailers", (t) => (trailers = t));
    request.on("data", () => undefined);
    request.on("error", reject);
    request.on("close", () => {
      session.close();
      const status = { ...headers, ...trailers };
      const fields = new Headers();
      for (const [key, value] of Object.entries(status)) if (!key.startsWith(":") && value !== undefined) fields.set(key, String(value));
      resolve(answerFrom(Number(headers[":status"]), findTrailerError(fields)));
    });
    request.end(body);
  });
}

/** gRPC-Web over HTTP/1.1 (fetch), raw: the status comes from the trailer frame in the body, or the headers. */
async function grpcWebCall(baseUrl: string, method: string, body: Uint8Array, contentType = "application/grpc-web+proto"): Promise<Answer> {
  const response = await fetch(`${baseUrl}${service}/${method}`, { method: "POST", headers: { "content-type": contentType, "grpc-timeout": "10S" }, body: Buffer.from(body) });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const trailer = frames(bytes).find((frame) => (frame.flags & 0x80) !== 0);
  const fields = trailer ? trailerParse(trailer.data) : new Headers();
  if (!fields.has("grpc-status")) response.headers.forEach((value, key) => fields.set(key, value));
  return answerFrom(response.status, findTrailerError(fields));
}

/** Connect unary over HTTP/1.1 (fetch), raw: the error is the JSON body of a non-200 answer. */
async function connectUnary(baseUrl: string, method: string, body: Uint8Array | string, contentType = "application/json"): Promise<Answer> {
  const response = await fetch(`${baseUrl}${service}/${method}`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : Buffer.from(body) });
  const text = await response.text();
  if (response.status === 200) return answerFrom(200, undefined);
  return answerFrom(response.status, errorFromJson(JSON.parse(text), undefined, new ConnectError("not a Connect error", Code.Unknown)));
}

/** Connect server streaming over HTTP/1.1 (fetch), raw: the error is in the end-stream frame. */
async function connectStream(baseUrl: string, method: string, body: Uint8Array, contentType = "application/connect+proto"): Promise<Answer> {
  const response = await fetch(`${baseUrl}${service}/${method}`, { method: "POST", headers: { "content-type": contentType, "connect-timeout-ms": "10000" }, body: Buffer.from(body) });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const end = frames(bytes).find((frame) => (frame.flags & 0x02) !== 0);
  return answerFrom(response.status, end ? endStreamFromJson(end.data).error : undefined);
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("a container reference with a leading '/' on every lifecycle RPC, against a server process", () => {
  let server: ServerProcess;
  const name = (suffix: string) => run.name(`slash-${suffix}`);

  before(async () => {
    server = await startServerProcess({ OSIRIS_RATE_LIMIT: "1000" });
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.stop();
  });

  const unary = async (method: string, request: object): Promise<{ status: number; body: Record<string, any> }> => {
    const response = await fetch(`${server.url}${service}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const client = () => createClient(DockerService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));

  /** The same process still answers, and logged no crash. */
  async function assertStillServing(): Promise<void> {
    assert.equal(server.child.exitCode, null, `the server exited:\n${server.output().slice(-3000)}`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.doesNotMatch(server.output(), /ENOTFOUND|uncaught|unhandled/i);
  }

  it("GetDockerContainer finds the named container", async () => {
    const id = await managedContainer(name("get"), ["sleep", "60"]);
    const { status, body } = await unary("GetDockerContainer", { container: `/${name("get")}` });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.container.id, id);
    await assertStillServing();
  });

  it("StopDockerContainer stops the named container", async () => {
    const id = await managedContainer(name("stop"), ["sleep", "60"]);
    const { status, body } = await unary("StopDockerContainer", { container: `/${name("stop")}`, timeoutSeconds: 0 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.container.id, id);
    assert.equal((await docker.getContainer(id).inspect()).State.Running, false);
    await assertStillServing();
  });

  it("StartDockerContainer starts the named container", async () => {
    const id = await managedContainer(name("start"), ["sleep", "60"], false);
    const { status, body } = await unary("StartDockerContainer", { container: `/${name("start")}` });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.container.id, id);
    assert.equal((await docker.getContainer(id).inspect()).State.Running, true);
    await assertStillServing();
  });

  it("RestartDockerContainer restarts the named container", async () => {
    const id = await managedContainer(name("restart"), ["sleep", "60"]);
    const startedBefore = (await docker.getContainer(id).inspect()).State.StartedAt;
    const { status, body } = await unary("RestartDockerContainer", { container: `/${name("restart")}`, timeoutSeconds: 0 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.container.id, id);
    assert.notEqual((await docker.getContainer(id).inspect()).State.StartedAt, startedBefore);
    await assertStillServing();
  });

  it("WaitDockerContainer waits for the named container and reports its exit code", async () => {
    const id = await managedContainer(name("wait"), ["sh", "-c", "exit 3"]);
    const { status, body } = await unary("WaitDockerContainer", { container: `/${name("wait")}` });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.exitCode, 3);
    assert.equal((await docker.getContainer(id).inspect()).State.ExitCode, 3);
    await assertStillServing();
  });

  it("RemoveDockerContainer removes the named container", async () => {
    const id = await managedContainer(name("remove"), ["true"], false);
    const { status, body } = await unary("RemoveDockerContainer", { container: `/${name("remove")}` });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.id, id);
    await assert.rejects(docker.getContainer(id).inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
    await assertStillServing();
  });

  it("StreamDockerContainerLogs streams the named container's output", async () => {
    await managedContainer(name("logs"), ["echo", `hello from ${run.id}`]);
    await eventually(async () => !(await docker.getContainer(name("logs")).inspect()).State.Running);
    let output = "";
    for await (const message of client().streamDockerContainerLogs({ container: `/${name("logs")}` })) {
      output += new TextDecoder().decode(message.data);
    }
    assert.equal(output, `hello from ${run.id}\n`);
    await assertStillServing();
  });

  it("WatchDockerEvents filters on the named container", async () => {
    const id = await managedContainer(name("watch"), ["sleep", "60"], false);
    const watching = new AbortController();
    const events: WatchDockerEventsResponse[] = [];
    const watch = (async () => {
      try {
        for await (const event of client().watchDockerEvents({ container: `/${name("watch")}`, types: [EventType.STARTED] }, { signal: watching.signal })) {
          events.push(event);
          watching.abort();
        }
      } catch (error) {
        if (ConnectError.from(error).code !== Code.Canceled) throw error;
      }
    })();
    // Started until the watch sees it: the watch may subscribe after a first start.
    assert.ok(
      await eventually(async () => {
        await docker.getContainer(id).restart({ t: 0 });
        return events.length > 0;
      }, 30_000),
      "an event for the named container arrives",
    );
    await watch;
    assert.equal(events[0]?.containerId, id);
    await assertStillServing();
  });

  it("still refuses a reference that is only slashes or has two", async () => {
    for (const container of ["/", `//${name("get")}`]) {
      const { status, body } = await unary("GetDockerContainer", { container });
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.code, "invalid_argument");
    }
    await assertStillServing();
  });
});

describe("bodies the server cannot decode are INVALID_ARGUMENT on every protocol", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  // Field 1 (container) announced as 100 bytes long, with 2 present: not protobuf.
  const garbage = Uint8Array.from([0x0a, 0x64, 0x61, 0x62]);

  it("answers gRPC, gRPC-Web and Connect (unary and streaming) alike, naming the decode failure", async () => {
    const answers: Record<string, Answer> = {
      "gRPC unary": await grpcCall(server.baseUrl, "GetDockerContainer", envelope(garbage)),
      "gRPC server stream": await grpcCall(server.baseUrl, "StreamDockerContainerLogs", envelope(garbage)),
      "gRPC-Web unary": await grpcWebCall(server.baseUrl, "GetDockerContainer", envelope(garbage)),
      "gRPC-Web server stream": await grpcWebCall(server.baseUrl, "WatchDockerEvents", envelope(garbage)),
      "Connect unary": await connectUnary(server.baseUrl, "GetDockerContainer", garbage, "application/proto"),
      "Connect server stream": await connectStream(server.baseUrl, "StreamDockerContainerLogs", envelope(garbage)),
    };
    for (const [protocol, answer] of Object.entries(answers)) {
      assert.equal(answer.code, Code.InvalidArgument, `${protocol}: ${JSON.stringify(answer)}`);
      assert.match(answer.message, /^parse binary: /, protocol);
    }
    assert.equal(answers["Connect unary"]!.httpStatus, 400);
  });

  it("answers a message flagged compressed without an encoding, and truncated gzip, with INVALID_ARGUMENT", async () => {
    const valid = toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, { container: "absent" }));
    const flagged = await grpcCall(server.baseUrl, "GetDockerContainer", envelope(valid, 1));
    assert.equal(flagged.code, Code.InvalidArgument, JSON.stringify(flagged));
    const truncated = gzipSync(valid).subarray(0, 12);
    const gzipped = await grpcCall(server.baseUrl, "GetDockerContainer", envelope(truncated, 1), "application/grpc", { "grpc-encoding": "gzip" });
    assert.equal(gzipped.code, Code.InvalidArgument, JSON.stringify(gzipped));
    const connectGzip = await fetch(`${server.baseUrl}${service}/GetDockerContainer`, {
      method: "POST",
      headers: { "content-type": "application/proto", "content-encoding": "gzip" },
      body: Buffer.from(truncated),
    });
    assert.equal(connectGzip.status, 400);
  });

  it("answers an undecodable body INVALID_ARGUMENT even when its deadline is already over (timeout 0)", async () => {
    const grpc = await grpcCall(server.baseUrl, "GetDockerContainer", envelope(garbage), "application/grpc", { "grpc-timeout": "0S" });
    assert.notEqual(grpc.code, Code.Internal, JSON.stringify(grpc));
    const connect = await fetch(`${server.baseUrl}${service}/GetDockerContainer`, {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-timeout-ms": "0" },
      body: Buffer.from(garbage),
    });
    assert.equal(connect.status, 400, await connect.text());
  });

  it("keeps a call alive whose deadline is longer than a Node timer can hold (grpc-timeout 99999999S, 30-day connect timeout)", async () => {
    const request = toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, { container: "osiris-test-absent" }));
    const grpc = await grpcCall(server.baseUrl, "GetDockerContainer", envelope(request), "application/grpc", { "grpc-timeout": "99999999S" });
    assert.equal(grpc.code, Code.NotFound, JSON.stringify(grpc));
    const connect = await fetch(`${server.baseUrl}${service}/GetDockerContainer`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": String(30 * 24 * 3_600_000) },
      body: JSON.stringify({ container: "osiris-test-absent" }),
    });
    assert.equal(connect.status, 404, await connect.text());
  });

  it("keeps binary protobuf forward compatible: an unknown field is ignored", async () => {
    const valid = toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, { container: run.name("absent") }));
    const withUnknownField = Uint8Array.from([...valid, 0xf8, 0x06, 0x01]); // field 111, varint 1
    for (const answer of [
      await grpcCall(server.baseUrl, "GetDockerContainer", envelope(withUnknownField)),
      await grpcWebCall(server.baseUrl, "GetDockerContainer", envelope(withUnknownField)),
      await connectUnary(server.baseUrl, "GetDockerContainer", withUnknownField, "application/proto"),
    ]) {
      assert.equal(answer.code, Code.NotFound, JSON.stringify(answer));
    }
  });
});

describe("JSON rejects what it does not know, naming the field", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  const image = testImage;
  const cases: { what: string; request: object; field: string; description: RegExp }[] = [
    { what: "a misspelt name", request: { image, nam: run.name("json"), labels: run.labels }, field: "nam", description: /unknown field "nam".*did you mean "name"/ },
    { what: "a short enum name in a list", request: { image, labels: run.labels, ports: [{ containerPort: 53, protocol: "UDP" }] }, field: "ports.protocol", description: /"UDP" is not a value of osiris\.docker\.v1\.Protocol; use one of .*PROTOCOL_UDP/ },
    { what: "a short pull policy", request: { image, labels: run.labels, pullPolicy: "NEVER" }, field: "pull_policy", description: /PULL_POLICY_NEVER/ },
    { what: "a field Osiris does not have", request: { image, labels: run.labels, privileged: true }, field: "privileged", description: /unknown field "privileged"/ },
    { what: "an unknown field in a nested message", request: { image, labels: run.labels, restartPolicy: { mode: "RESTART_POLICY_MODE_NO", retries: 3 } }, field: "restart_policy.retries", description: /unknown field "retries" in osiris\.docker\.v1\.RestartPolicy/ },
    { what: "a value of the wrong type", request: { image, labels: run.labels, env: { A: 1 } }, field: "env", description: /expected string/ },
  ];

  for (const { what, request, field, description } of cases) {
    it(`answers ${what} with INVALID_ARGUMENT and a BadRequest for ${field}, on Connect JSON, gRPC-Web JSON and gRPC JSON`, async () => {
      const answers = {
        "Connect JSON": await connectUnary(server.baseUrl, "RunDockerContainer", json(request)),
        "gRPC-Web JSON": await grpcWebCall(server.baseUrl, "RunDockerContainer", envelope(json(request)), "application/grpc-web+json"),
        "gRPC JSON": await grpcCall(server.baseUrl, "RunDockerContainer", envelope(json(request)), "application/grpc+json"),
      };
      for (const [protocol, answer] of Object.entries(answers)) {
        assert.equal(answer.code, Code.InvalidArgument, `${protocol}: ${JSON.stringify(answer)}`);
        assert.equal(answer.violations.length, 1, `${protocol}: ${JSON.stringify(answer)}`);
        assert.equal(answer.violations[0]!.field, field, protocol);
        assert.match(answer.violations[0]!.description, description, protocol);
      }
      assert.equal(answers["Connect JSON"].httpStatus, 400);
      const created = await docker.listContainers({ all: true, filters: { label: [`${testRunLabel}=${run.id}`] } });
      assert.deepEqual(created, [], "no container was created");
    });
  }

  it("answers an unknown field on a Connect streaming JSON call the same way", async () => {
    const answer = await connectStream(server.baseUrl, "StreamDockerContainerLogs", envelope(json({ container: "web", folow: true })), "application/connect+json");
    assert.equal(answer.code, Code.InvalidArgument, JSON.stringify(answer));
    assert.deepEqual(answer.violations.map((v) => v.field), ["folow"]);
  });

  it("accepts the full enum names proto3 JSON uses", async () => {
    const answer = await connectUnary(server.baseUrl, "ListDockerContainers", json({ states: ["CONTAINER_STATE_EXITED"], labelSelector: run.labels }));
    assert.equal(answer.httpStatus, 200, JSON.stringify(answer));
  });
});

describe("label selectors are bounded before they reach the engine", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const selector = (entries: number, valueLength = 1) =>
    Object.fromEntries(Array.from({ length: entries }, (_, i) => [`key-${i}`, "v".repeat(valueLength)]));

  it("answers a 200,000-entry selector with INVALID_ARGUMENT naming label_selector, on List and WatchDockerEvents", async () => {
    const huge = json({ labelSelector: selector(200_000) });
    for (const answer of [
      await connectUnary(server.baseUrl, "ListDockerContainers", huge),
      await connectStream(server.baseUrl, "WatchDockerEvents", envelope(huge), "application/connect+json"),
    ]) {
      assert.equal(answer.code, Code.InvalidArgument, JSON.stringify(answer).slice(0, 500));
      assert.deepEqual(answer.violations.map((v) => v.field), ["label_selector"]);
      assert.match(answer.violations[0]!.description, /at most 64 entries/);
    }
  });

  it("answers a selector of few but huge values with INVALID_ARGUMENT", async () => {
    const error = await rpcError(server.client("grpc").listDockerContainers({ labelSelector: selector(4, 20_000) }));
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["label_selector"]);
  });

  it("serves a selector at the bound", async () => {
    const page = await server.client("grpc").listDockerContainers({ labelSelector: selector(maxSelectorEntries - 1), all: true });
    assert.deepEqual(page.containers, []);
  });
});

describe("an id prefix that matches several containers", () => {
  let managedScope: TestServer;
  let allScope: TestServer;
  before(async () => {
    managedScope = await startTestServer();
    allScope = await startTestServer(undefined, { scope: "all" });
    // Ids are random, and references are at least 2 characters: 48 unmanaged
    // containers cover about 40 of the 256 two-character prefixes.
    for (let batch = 0; batch < 6; batch++) await Promise.all(Array.from({ length: 8 }, unmanagedContainer));
  });
  after(async () => {
    await removeTestContainers(run.id);
    await managedScope.close();
    await allScope.close();
  });

  const prefixes = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

  /** How many managed and unmanaged containers on the engine have an id starting with each prefix; other tests may be adding theirs. */
  async function countsByPrefix(): Promise<Map<string, { managed: number; unmanaged: number }>> {
    const counts = new Map(prefixes.map((p) => [p, { managed: 0, unmanaged: 0 }]));
    for (const c of await docker.listContainers({ all: true })) {
      const count = counts.get(c.Id.slice(0, 2))!;
      if (c.Labels["io.osiris.managed"] === "true") count.managed++;
      else count.unmanaged++;
    }
    return counts;
  }

  it("resolves to the one managed container when the others are unmanaged, without revealing them", async () => {
    let managed: string | undefined;
    for (let i = 0; i < 64 && managed === undefined; i++) {
      const id = await managedContainer(run.name(`prefix-one-${i}`), ["true"], false);
      const count = (await countsByPrefix()).get(id.slice(0, 2))!;
      if (count.managed === 1 && count.unmanaged >= 1) managed = id;
    }
    assert.ok(managed, "a managed container shares its first two characters with unmanaged ones only");
    const { container } = await managedScope.client("grpc").getDockerContainer({ container: managed.slice(0, 2) });
    assert.equal(container?.id, managed);
    // The engine itself finds the prefix ambiguous: only the managed scope resolves it.
    const error = await rpcError(allScope.client("grpc").getDockerContainer({ container: managed.slice(0, 2) }));
    assert.equal(error.code, Code.InvalidArgument);
  });

  it("answers NOT_FOUND when only unmanaged containers match, as if they did not exist", async () => {
    let prefix: string | undefined;
    for (let i = 0; i < 64 && prefix === undefined; i++) {
      const counts = await countsByPrefix();
      prefix = prefixes.find((p) => counts.get(p)!.managed === 0 && counts.get(p)!.unmanaged >= 2);
      if (prefix === undefined) await unmanagedContainer();
    }
    assert.ok(prefix, "two unmanaged containers share a prefix no managed container has");
    const error = await rpcError(managedScope.client("grpc").getDockerContainer({ container: prefix }));
    assert.equal(error.code, Code.NotFound);
    assert.equal(error.rawMessage, `Container not found: "${prefix}"`);
  });

  it("answers INVALID_ARGUMENT naming container when several managed containers match, in either scope", async () => {
    let prefix: string | undefined;
    for (let i = 0; i < 96 && prefix === undefined; i++) {
      const counts = await countsByPrefix();
      prefix = prefixes.find((p) => counts.get(p)!.managed >= 2);
      if (prefix === undefined) await managedContainer(run.name(`prefix-many-${i}`), ["true"], false);
    }
    assert.ok(prefix, "two managed containers share a prefix");
    for (const server of [managedScope, allScope]) {
      const error = await rpcError(server.client("connect-json").getDockerContainer({ container: prefix }));
      assert.equal(error.code, Code.InvalidArgument);
      assert.match(error.rawMessage, /matches more than one container; give more characters of the id, or the name/);
      assert.deepEqual(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field), ["container"]);
    }
  });
});
