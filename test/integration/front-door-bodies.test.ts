import assert from "node:assert/strict";
import { once } from "node:events";
import type http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { createDualProtocolServer } from "../../server/dual-protocol-server.js";
import { closeH2Session, connectRaw, exchangeH2, openH2Session, type H2Outcome } from "../support/raw-wire.js";
import { startFastServer, type FastServer } from "../support/fast-server.js";

// A request's body is the one thing a caller without credentials could make
// the server hold; these specify that it is refused or cut before it is.

const operatorToken = "front-door-bodies-operator-token-0123456789";
const tokens = JSON.stringify([{ principal: "ops", role: "operator", token: operatorToken }]);
/** Generous: a refusal that waited for the body would hit it, as the bodies below are never finished. */
const boundMs = 15_000;

function grpcStatus(outcome: H2Outcome): string | undefined {
  return (outcome.headers["grpc-status"] ?? outcome.trailers["grpc-status"]) as string | undefined;
}

/** A gRPC POST that declares `declared` bytes of body and sends only an envelope header's worth. */
function stalledGrpcPost(path: string, declared: number, extra: http2.OutgoingHttpHeaders = {}) {
  return {
    headers: { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", "content-length": String(declared), ...extra },
    writes: [Buffer.from([0, 0, 0x3f, 0xff, 0xfb, 1, 2, 3])],
    endStream: false,
    boundMs,
  };
}

describe("bodies refused before they are read (tokens configured)", () => {
  let server: FastServer;
  let session: http2.ClientHttp2Session;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_TOKENS: tokens } });
    session = await openH2Session(server.port);
  });
  after(async () => {
    await closeH2Session(session);
    await server.close();
  });

  it("answers UNAUTHENTICATED to a DockerService call without credentials that declares 4 MiB and sends a few bytes, without waiting for the body", async () => {
    const outcome = await exchangeH2(session, stalledGrpcPost("/osiris.docker.v1.DockerService/RunDockerContainer", 4 * 1024 * 1024));
    assert.notEqual(outcome.end, "bound", "answered before the body, which never comes");
    assert.equal(grpcStatus(outcome), "16");
    const audits = server.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit === true);
    assert.ok(audits.some((a) => a.rpc === "RunDockerContainer" && a.outcome === "Unauthenticated"), "the refusal is still audited");
  });

  it("answers UNAUTHENTICATED the same way to a wrong bearer token", async () => {
    const outcome = await exchangeH2(
      session,
      stalledGrpcPost("/osiris.docker.v1.DockerService/GetDockerContainer", 4 * 1024 * 1024, { authorization: "Bearer not-a-token" }),
    );
    assert.notEqual(outcome.end, "bound");
    assert.equal(grpcStatus(outcome), "16");
  });

  it("still reads the body of a caller with a valid token (GetDockerContainer of an absent container: NOT_FOUND)", async () => {
    const client = server.clientWithToken("grpc", operatorToken);
    await assert.rejects(client.getDockerContainer({ container: "absent" }), (error: { code: number }) => error.code === 5);
  });

  it("answers RESOURCE_EXHAUSTED to a grpc.health.v1.Health/Check that declares 1 MiB, without waiting for the body", async () => {
    const outcome = await exchangeH2(session, stalledGrpcPost("/grpc.health.v1.Health/Check", 1024 * 1024));
    assert.notEqual(outcome.end, "bound");
    assert.equal(grpcStatus(outcome), "8");
    assert.match(decodeURIComponent(String(outcome.headers["grpc-message"] ?? outcome.trailers["grpc-message"])), /at most 65536 bytes/);
  });

  it("tells HTTP/2 clients that a connection may have at most 100 streams open", async () => {
    const fresh = await openH2Session(server.port);
    try {
      if (fresh.remoteSettings.maxConcurrentStreams !== 100) await Promise.race([once(fresh, "remoteSettings"), new Promise((r) => setTimeout(r, 5_000))]);
      assert.equal(fresh.remoteSettings.maxConcurrentStreams, 100);
    } finally {
      await closeH2Session(fresh);
    }
  });
});

describe("the request body deadline (dual-protocol server, 300 ms)", () => {
  let server: net.Server;
  let port: number;
  /** Answers once the body is in; a path of /long streams its answer for 1.5 s, past the deadline. */
  const handler = (request: http.IncomingMessage | http2.Http2ServerRequest, response: http.ServerResponse | http2.Http2ServerResponse) => {
    request.resume();
    request.on("end", () => {
      // Both answer types take (status, headers); their overloads differ elsewhere.
      (response as { writeHead(status: number, headers: Record<string, string>): unknown }).writeHead(200, { "content-type": "text/plain" });
      if (request.url !== "/long") return void response.end("ok");
      let ticks = 0;
      const timer = setInterval(() => {
        (response as { write(chunk: string): boolean }).write(`tick ${ticks}\n`);
        if (++ticks === 6) {
          clearInterval(timer);
          response.end();
        }
      }, 250);
      response.on("close", () => clearInterval(timer));
    });
  };
  before(async () => {
    server = createDualProtocolServer(handler, { requestBodyTimeoutMs: 300, closeGraceMs: 200 });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.close();
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
  });

  it("resets (CANCEL) an HTTP/2 stream whose body has not all arrived by the deadline", async () => {
    const session = await openH2Session(port);
    try {
      const outcome = await exchangeH2(session, {
        headers: { ":method": "POST", ":path": "/", "content-length": "100" },
        writes: [Buffer.alloc(10)],
        endStream: false,
        boundMs,
      });
      assert.equal(outcome.end, "closed-by-server");
      assert.equal(outcome.rstCode, http2.constants.NGHTTP2_CANCEL);
    } finally {
      await closeH2Session(session);
    }
  });

  it("closes an HTTP/1.1 connection whose request body has not all arrived by the deadline", async () => {
    const socket = connectRaw(port);
    socket.on("error", () => undefined);
    socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789");
    const bound = setTimeout(() => socket.destroy(new Error("bound")), boundMs);
    const [hadError] = (await once(socket, "close")) as [boolean];
    clearTimeout(bound);
    assert.equal(hadError, false, "closed by the server, not by the bound");
  });

  it("does not cut an answer that outlives the deadline once the body is in (HTTP/2 and HTTP/1.1)", async () => {
    const session = await openH2Session(port);
    try {
      const outcome = await exchangeH2(session, { headers: { ":method": "POST", ":path": "/long" }, writes: [Buffer.from("x")], endStream: true, boundMs });
      assert.equal(outcome.end, "answered");
      assert.match(outcome.body.toString(), /tick 5\n$/);
    } finally {
      await closeH2Session(session);
    }
    const body = await new Promise<string>((resolve, reject) => {
      const socket = connectRaw(port);
      const chunks: Buffer[] = [];
      const bound = setTimeout(() => socket.destroy(new Error("no complete answer within the bound")), boundMs);
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (Buffer.concat(chunks).includes("0\r\n\r\n")) {
          clearTimeout(bound);
          socket.destroy();
          resolve(Buffer.concat(chunks).toString());
        }
      });
      socket.on("error", reject);
      socket.write("POST /long HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx");
    });
    assert.match(body, /tick 5\n/);
  });
});
