import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import Fastify from "fastify";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { registerBrowserOrigins } from "../../server/browser-origins.js";
import { registerHostCheck } from "../../server/host-check.js";
import { RefusalError } from "../../server/refusals.js";
import { refusal, toConnectError } from "../../server/rpc/errors.js";
import { isMutating } from "../../server/security/access-control.js";

const noLog = { error: () => undefined };

describe("refusals", () => {
  it("gives each refusal the code clients were always told", () => {
    const expected: [Parameters<typeof refusal>[0], Code][] = [
      ["credentials-missing", Code.Unauthenticated],
      ["credentials-invalid", Code.Unauthenticated],
      ["role-insufficient", Code.PermissionDenied],
      ["rate-limited", Code.ResourceExhausted],
      ["too-many-streams", Code.ResourceExhausted],
      ["too-many-calls-in-flight", Code.ResourceExhausted],
      ["request-too-large", Code.ResourceExhausted],
      ["origin-not-allowed", Code.PermissionDenied],
      ["host-not-allowed", Code.PermissionDenied],
      ["host-missing", Code.InvalidArgument],
      ["unknown-service", Code.NotFound],
      ["shutting-down", Code.Unavailable],
    ];
    for (const [kind, code] of expected) {
      const error = refusal(kind, "why");
      assert.equal(error.code, code, kind);
      assert.equal(error.rawMessage, "why");
      assert.ok(error.cause instanceof RefusalError && error.cause.kind === kind);
    }
  });

  it("maps a RefusalError a handler throws to the same code as refusal() gives", () => {
    const error = toConnectError(new RefusalError("unknown-service", "Unknown service: \"x\""), noLog);
    assert.equal(error.code, Code.NotFound);
    assert.equal(error.rawMessage, 'Unknown service: "x"');
  });
});

describe("which RPCs a viewer may call", () => {
  it("is exactly the RPCs the proto marks NO_SIDE_EFFECTS: Get, List, Wait, logs, stats, events, the image list and WhoAmI", () => {
    const readOnly = DockerService.methods
      .filter((method) => !isMutating({ service: DockerService, method }))
      .map((method) => method.name)
      .sort();
    assert.deepEqual(readOnly, [
      "GetDockerContainer",
      "ListDockerContainers",
      "ListDockerImages",
      "StreamDockerContainerLogs",
      "StreamDockerContainerStats",
      "WaitDockerContainer",
      "WatchDockerEvents",
      "WhoAmI",
    ]);
  });
});

describe("refusals answered before connect-es sees the request", () => {
  async function front() {
    const app = Fastify();
    registerHostCheck(app, []);
    await registerBrowserOrigins(app, []);
    app.all("/*", async () => "reached");
    await app.ready();
    return app;
  }

  it("answers Connect and plain HTTP callers with Connect's JSON error and the code's HTTP status", async () => {
    const app = await front();
    const answer = await app.inject({ method: "POST", url: "/x", headers: { host: "evil.example", "content-type": "application/json" }, payload: "{}" });
    assert.equal(answer.statusCode, 403);
    assert.match(String(answer.headers["content-type"]), /^application\/json\b/);
    assert.deepEqual(answer.json(), {
      code: "permission_denied",
      message: 'Host "evil.example" is not a name this server answers to; address it by IP address or localhost, or add the name to OSIRIS_ALLOWED_HOSTS',
    });
    await app.close();
  });

  it("answers gRPC and gRPC-Web callers trailers-only, with grpc-status and the message", async () => {
    const app = await front();
    for (const contentType of ["application/grpc", "application/grpc-web+proto"]) {
      const answer = await app.inject({ method: "POST", url: "/x", headers: { host: "localhost", origin: "http://evil.example", "content-type": contentType } });
      assert.equal(answer.statusCode, 200, contentType);
      assert.equal(answer.headers["content-type"], contentType);
      assert.equal(answer.headers["grpc-status"], String(Code.PermissionDenied));
      assert.equal(decodeURIComponent(String(answer.headers["grpc-message"])), 'Origin not allowed: "http://evil.example"; see OSIRIS_CORS_ORIGINS');
      assert.equal(answer.body, "");
    }
    await app.close();
  });

  it("refuses a browser's request from another site that sends no Origin (a no-cors GET), and lets same-origin and non-browser requests through", async () => {
    const app = await front();
    for (const site of ["cross-site", "same-site"]) {
      const answer = await app.inject({ method: "GET", url: "/x", headers: { host: "localhost", "sec-fetch-site": site } });
      assert.equal(answer.statusCode, 403, site);
      assert.equal(answer.json().code, "permission_denied");
    }
    for (const headers of [{ "sec-fetch-site": "same-origin" }, { "sec-fetch-site": "none" }, {}]) {
      const answer = await app.inject({ method: "GET", url: "/x", headers: { host: "localhost", ...headers } });
      assert.equal(answer.body, "reached", JSON.stringify(headers));
    }
    await app.close();
  });
});

