import assert from "node:assert/strict";
import { once } from "node:events";
import { rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { rpcError } from "../support/rpc-assertions.js";
import { makeTestCertificates, signClientCertificate, type TestCertificates } from "../support/test-certificates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const absent = "osiris-test-absent-container";
const rebindingHost = "rebind.evil.example";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with exactly this Host header. */
function http1Request(port: number, method: string, path: string, headers: Record<string, string>, body = ""): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false, timeout: 30_000 }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer to ${path} within 30 s`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** grpc.health.v1.Health/Check over h2c with this :authority; resolves with the grpc-status and grpc-message. */
async function grpcCheckWithAuthority(port: number, authority: string): Promise<{ status: number; message: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      ":authority": authority,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(Buffer.alloc(5));
    stream.resume();
    const seen: http2.IncomingHttpHeaders = {};
    stream.on("response", (headers) => Object.assign(seen, headers));
    stream.on("trailers", (trailers) => Object.assign(seen, trailers));
    await once(stream, "close");
    return { status: Number(seen["grpc-status"]), message: decodeURIComponent(String(seen["grpc-message"] ?? "")) };
  } finally {
    session.destroy();
  }
}

describe("DNS rebinding: a loopback Osiris answers only requests addressed to it", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  for (const path of ["/metrics", "/readyz", "/healthz"]) {
    it(`refuses ${path} addressed to ${rebindingHost} with 403 permission_denied naming OSIRIS_ALLOWED_HOSTS`, async () => {
      const answer = await http1Request(server.port, "GET", path, { host: rebindingHost });
      assert.equal(answer.status, 403);
      const error = JSON.parse(answer.body) as { code: string; message: string };
      assert.equal(error.code, "permission_denied");
      assert.match(error.message, /rebind\.evil\.example.*OSIRIS_ALLOWED_HOSTS/);
    });
  }

  it("answers a request that names no host at all (HTTP/1.0 without Host) 400 invalid_argument, never an empty 200", async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.end("POST /osiris.docker.v1.DockerService/ListDockerContainers HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
    let raw = "";
    socket.on("data", (chunk: Buffer) => (raw += chunk.toString("latin1")));
    await once(socket, "close");
    assert.match(raw, /^HTTP\/1\.[01] 400 /, raw);
    assert.match(raw, /"code":"invalid_argument".*Host header/s);
  });

  it("refuses a foreign name with a port, in upper case, or with a trailing dot", async () => {
    for (const host of [`${rebindingHost}:${server.port}`, rebindingHost.toUpperCase(), `${rebindingHost}.`, "127.0.0.1.nip.io"]) {
      assert.equal((await http1Request(server.port, "GET", "/metrics", { host })).status, 403, host);
    }
  });

  it("answers requests addressed by IP address, localhost or a *.localhost name", async () => {
    for (const host of [`127.0.0.1:${server.port}`, "127.0.0.1", `[::1]:${server.port}`, `localhost:${server.port}`, "LOCALHOST.", "osiris.localhost"]) {
      assert.equal((await http1Request(server.port, "GET", "/metrics", { host })).status, 200, host);
    }
  });

  it("refuses a Connect call addressed to a foreign name before it reaches a handler", async () => {
    const answer = await http1Request(
      server.port,
      "POST",
      "/osiris.docker.v1.DockerService/ListDockerContainers",
      { host: rebindingHost, "content-type": "application/json" },
      "{}",
    );
    assert.equal(answer.status, 403);
    assert.equal((JSON.parse(answer.body) as { code: string }).code, "permission_denied");
  });

  it("answers gRPC over HTTP/2 with a foreign :authority PERMISSION_DENIED, with the reason in grpc-message", async () => {
    const refused = await grpcCheckWithAuthority(server.port, rebindingHost);
    assert.equal(refused.status, Code.PermissionDenied);
    assert.match(refused.message, /OSIRIS_ALLOWED_HOSTS/);
    assert.equal((await grpcCheckWithAuthority(server.port, `127.0.0.1:${server.port}`)).status, 0);
  });

  it("answers gRPC-Web with a foreign Host PERMISSION_DENIED in a trailers-only answer", async () => {
    const answer = await http1Request(
      server.port,
      "POST",
      "/grpc.health.v1.Health/Check",
      { host: rebindingHost, "content-type": "application/grpc-web+proto" },
      "\x00\x00\x00\x00\x00",
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["grpc-status"], String(Code.PermissionDenied));
  });
});

describe("DNS rebinding: names in OSIRIS_ALLOWED_HOSTS", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(undefined, { allowedHosts: ["osiris.internal"] });
  });
  after(async () => server.close());

  it("answers a listed name, and still refuses any other", async () => {
    assert.equal((await http1Request(server.port, "GET", "/readyz", { host: `osiris.internal:${server.port}` })).status, 200);
    assert.equal((await http1Request(server.port, "GET", "/readyz", { host: "OSIRIS.internal" })).status, 200);
    assert.equal((await http1Request(server.port, "GET", "/readyz", { host: rebindingHost })).status, 403);
    assert.equal((await http1Request(server.port, "GET", "/readyz", { host: "evil.osiris.internal" })).status, 403);
  });
});

describe("mutual TLS: a certificate gets a role only from an explicit clientCertificateCN mapping", () => {
  const operatorToken = "identity-test-operator-token-0123";
  const logLines: string[] = [];
  let certificates: TestCertificates;
  let operatorCertificate: { cert: Buffer; key: Buffer };
  let unmappedCertificate: { cert: Buffer; key: Buffer };
  let certificateWithoutCn: { cert: Buffer; key: Buffer };
  let server: TestServer;

  before(async () => {
    certificates = makeTestCertificates("platform-bot");
    operatorCertificate = signClientCertificate(certificates, "deploy-bot", "/CN=deploy-bot");
    unmappedCertificate = signClientCertificate(certificates, "stranger", "/CN=stranger");
    certificateWithoutCn = signClientCertificate(certificates, "nameless", "/O=Osiris Tests/OU=No Common Name");
    server = await startTestServer(
      undefined,
      {
        logLevel: "info",
        tls: { cert: certificates.serverCert, key: certificates.serverKey, clientCa: certificates.caPem },
        tokens: parseTokenList(
          JSON.stringify([
            // The certificate's CN is also the principal's name: it still gets only the entry's role.
            { principal: "platform-bot", role: "viewer", clientCertificateCN: "platform-bot" },
            { principal: "deploy", role: "operator", clientCertificateCN: "deploy-bot" },
            { principal: "ops", role: "operator", token: operatorToken },
          ]),
        ),
      },
      { write: (line) => void logLines.push(line) },
    );
  });
  after(async () => {
    await server.close();
    rmSync(certificates.dir, { recursive: true, force: true });
  });

  const transport = (certificate: { cert: Buffer; key: Buffer }, headers?: Record<string, string>) =>
    createGrpcTransport({
      baseUrl: `https://127.0.0.1:${server.port}`,
      nodeOptions: { ca: certificates.caPem, cert: certificate.cert, key: certificate.key },
      interceptors: headers
        ? [(next) => (request) => {
            for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
            return next(request);
          }]
        : [],
    });
  const viewerCertificate = () => ({ cert: certificates.clientCert, key: certificates.clientKey });

  it("refuses StopDockerContainer to a certificate-only client mapped to viewer (PERMISSION_DENIED), and audits it under its principal", async () => {
    const client = createClient(DockerService, transport(viewerCertificate()));
    const error = await rpcError(client.stopDockerContainer({ container: absent }));
    assert.equal(error.code, Code.PermissionDenied);
    assert.match(error.rawMessage, /"platform-bot" has role viewer/);
    const audit = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.audit === true && entry.rpc === "StopDockerContainer" && entry.principal === "platform-bot");
    assert.ok(audit, "the refusal is audited under the mapped principal");
  });

  it("lets the same viewer certificate call GetDockerContainer and ListDockerContainers", async () => {
    const client = createClient(DockerService, transport(viewerCertificate()));
    assert.equal((await rpcError(client.getDockerContainer({ container: absent }))).code, Code.NotFound, "Get reached the engine");
    await client.listDockerContainers({});
  });

  it("lets a certificate mapped to operator reach StopDockerContainer", async () => {
    const client = createClient(DockerService, transport(operatorCertificate));
    assert.equal((await rpcError(client.stopDockerContainer({ container: absent }))).code, Code.NotFound);
  });

  it("refuses UNAUTHENTICATED a certificate whose CN no entry maps, naming clientCertificateCN", async () => {
    const client = createClient(DockerService, transport(unmappedCertificate));
    for (const call of [client.getDockerContainer({ container: absent }), client.stopDockerContainer({ container: absent })]) {
      const error = await rpcError(call);
      assert.equal(error.code, Code.Unauthenticated);
      assert.match(error.rawMessage, /"stranger".*clientCertificateCN/);
    }
  });

  it("refuses UNAUTHENTICATED a certificate without a CN", async () => {
    const client = createClient(DockerService, transport(certificateWithoutCn));
    const error = await rpcError(client.listDockerContainers({}));
    assert.equal(error.code, Code.Unauthenticated);
    assert.match(error.rawMessage, /no single subject CN/);
  });

  it("still answers health checks to any certificate the CA signed (probes carry no role)", async () => {
    const health = createClient(Health, transport(unmappedCertificate));
    await health.check({ service: "" });
  });

  it("lets a bearer token speak for its own principal over a viewer's certificate", async () => {
    const client = createClient(DockerService, transport(viewerCertificate(), { authorization: `Bearer ${operatorToken}` }));
    assert.equal((await rpcError(client.stopDockerContainer({ container: absent }))).code, Code.NotFound);
  });
});
