import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { parseTokenList } from "../../server/security/tokens.js";
import { docker, exitsOnSigint, newTestRun, removeTestContainers, testImage } from "../support/engine-fixtures.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const operatorToken = `op-${randomUUID()}`;
const viewerToken = `view-${randomUUID()}`;
const tokens = parseTokenList(
  JSON.stringify([
    { principal: "ci-operator", role: "operator", token: operatorToken },
    { principal: "dashboard", role: "viewer", token: viewerToken },
  ]),
);

/** A Connect GET: the request message rides in the query string. */
function getUrl(server: TestServer, method: string, message: object): string {
  const query = new URLSearchParams({ connect: "v1", encoding: "json", message: JSON.stringify(message) });
  return `${server.baseUrl}/osiris.docker.v1.DockerService/${method}?${query}`;
}

describe("read-only RPCs over HTTP GET (Connect protocol)", () => {
  const run = newTestRun();
  let server: TestServer;
  let containerId: string;
  before(async () => {
    server = await startTestServer(undefined, { tokens });
    const { container } = await server
      .client("connect-json")
      .runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels }, { headers: { authorization: `Bearer ${operatorToken}` } });
    containerId = container!.id;
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  it("lets a viewer GET GetDockerContainer with ?connect=v1&encoding=json&message=...", async () => {
    const response = await fetch(getUrl(server, "GetDockerContainer", { container: containerId }), {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { container?: { id?: string; state?: string } };
    assert.equal(body.container?.id, containerId);
    assert.equal(body.container?.state, "CONTAINER_STATE_RUNNING");
  });

  it("refuses an unauthenticated GET with 401 unauthenticated", async () => {
    const response = await fetch(getUrl(server, "GetDockerContainer", { container: containerId }));
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { code?: string }).code, "unauthenticated");
  });

  it("answers a GET whose message is not base64 (base64=1) 400 invalid_argument, never 500 internal", async () => {
    for (const message of ["a", "!!!", "abcde"]) {
      const query = new URLSearchParams({ connect: "v1", encoding: "proto", base64: "1", message });
      const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/GetDockerContainer?${query}`, {
        headers: { authorization: `Bearer ${viewerToken}` },
      });
      assert.equal(response.status, 400, message);
      const body = (await response.json()) as { code?: string; message?: string };
      assert.equal(body.code, "invalid_argument", message);
      assert.match(body.message ?? "", /"message" is not base64/);
    }
  });

  it("serves no GET for an RPC that changes the engine, even to an operator, and the container keeps running", async () => {
    const response = await fetch(getUrl(server, "StopDockerContainer", { container: containerId }), {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    assert.equal(response.status, 405);
    await response.body?.cancel();
    assert.equal((await docker.getContainer(containerId).inspect()).State.Running, true);
  });

  it("refuses a GET another site's page makes without CORS (Sec-Fetch-Site, no Origin) and a GET to a foreign host name", async () => {
    const url = getUrl(server, "GetDockerContainer", { container: containerId });
    const crossSite = await fetch(url, { headers: { authorization: `Bearer ${viewerToken}`, "sec-fetch-site": "cross-site" } });
    assert.equal(crossSite.status, 403);
    assert.equal(((await crossSite.json()) as { code?: string }).code, "permission_denied");
    // fetch() will not send a Host of our choosing; node:http will.
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const call = httpRequest(url, { headers: { authorization: `Bearer ${viewerToken}`, host: "evil.example" }, timeout: 60_000 }, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      call.on("timeout", () => call.destroy(new Error("no answer within 60 s")));
      call.on("error", reject);
      call.end();
    });
    assert.equal(rebound.status, 403);
    assert.match((JSON.parse(rebound.body) as { message?: string }).message ?? "", /not a name this server answers to/);
  });
});
