import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { parseTokenList } from "../../server/security/tokens.js";
import { rpcError } from "../support/rpc-assertions.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const absent = "osiris-test-absent-container";

describe("TLS with ALPN, and mutual TLS (certificates made by openssl in the test)", () => {
  let certificates: TestCertificates;
  before(() => {
    certificates = makeTestCertificates("platform-bot");
  });
  after(() => rmSync(certificates.dir, { recursive: true, force: true }));

  describe("server TLS", () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(undefined, { tls: { cert: certificates.serverCert, key: certificates.serverKey } });
    });
    after(async () => server.close());

    it("serves gRPC over HTTP/2 and Connect over HTTP/1.1 on the same TLS port", async () => {
      const baseUrl = `https://127.0.0.1:${server.port}`;
      const grpc = createClient(DockerService, createGrpcTransport({ baseUrl, nodeOptions: { ca: certificates.caPem } }));
      assert.equal((await rpcError(grpc.stopDockerContainer({ container: absent }))).code, Code.NotFound);
      const connect = createClient(
        DockerService,
        createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { ca: certificates.caPem } }),
      );
      assert.equal((await rpcError(connect.stopDockerContainer({ container: absent }))).code, Code.NotFound);
    });

    it("refuses cleartext on the TLS port", async () => {
      const cleartext = createClient(DockerService, createConnectTransport({ baseUrl: `http://127.0.0.1:${server.port}`, httpVersion: "1.1" }));
      const error = await rpcError(cleartext.stopDockerContainer({ container: absent }, { timeoutMs: 5000 }));
      assert.notEqual(error.code, Code.NotFound);
    });
  });

  describe("mutual TLS", () => {
    const logLines: string[] = [];
    let server: TestServer;
    before(async () => {
      server = await startTestServer(
        undefined,
        {
          logLevel: "info",
          tls: { cert: certificates.serverCert, key: certificates.serverKey, clientCa: certificates.caPem },
          // A certificate gets a principal and role only from an entry naming its CN.
          tokens: parseTokenList(JSON.stringify([{ principal: "platform-bot", role: "operator", clientCertificateCN: "platform-bot" }])),
        },
        { write: (line) => void logLines.push(line) },
      );
    });
    after(async () => server.close());

    const client = (cert?: Buffer, key?: Buffer) =>
      createClient(
        DockerService,
        createGrpcTransport({
          baseUrl: `https://127.0.0.1:${server.port}`,
          nodeOptions: { ca: certificates.caPem, ...(cert && key ? { cert, key } : {}) },
        }),
      );

    it("accepts a client certificate from the configured CA and makes the principal its CN maps to the caller", async () => {
      assert.equal((await rpcError(client(certificates.clientCert, certificates.clientKey).stopDockerContainer({ container: absent }))).code, Code.NotFound);
      const audit = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.audit === true);
      assert.equal(audit?.principal, "platform-bot");
    });

    it("refuses a client without a certificate, and one from another CA, at the handshake", async () => {
      for (const refused of [client(), client(certificates.rogueCert, certificates.rogueKey)]) {
        const error = await rpcError(refused.stopDockerContainer({ container: absent }, { timeoutMs: 5000 }));
        assert.notEqual(error.code, Code.NotFound, "the call never reached a handler");
      }
    });
  });
});
