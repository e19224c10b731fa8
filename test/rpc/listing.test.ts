import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { startFastServer, type FastServer, type ProtocolName } from "../support/fast-server.js";
import { badRequestFields, rpcError } from "./expectations.js";

const managed = { "io.osiris.managed": "true" };

describe("ListDockerContainers pages in a stable order", () => {
  let server: FastServer;
  const page = { "osiris-test.page": "1" };
  let created: string[] = [];
  before(async () => {
    server = await startFastServer();
    // Five seconds of creation times, five containers in each: order by time, then by id within a second.
    const base = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 25; i++) {
      created.push(server.engine.addContainer({ name: `page-${i}`, labels: { ...managed, ...page }, created: new Date(base + Math.floor(i / 5) * 1000) }));
    }
    await server.cacheSettled();
  });
  after(() => server.close());

  it("pages through 25 containers newest first, then by id, across protocols, without repeats or gaps", async () => {
    const seen: string[] = [];
    const protocolsInTurn: ProtocolName[] = ["connect-json", "grpc-web", "grpc"];
    let token = "";
    let pages = 0;
    do {
      const answer = await server.client(protocolsInTurn[pages % 3]!).listDockerContainers({ all: true, labelSelector: page, pageSize: 10, pageToken: token });
      assert.ok(answer.containers.length <= 10);
      seen.push(...answer.containers.map((c) => c.id));
      token = answer.nextPageToken;
      pages++;
    } while (token !== "" && pages < 10);
    assert.equal(pages, 3);
    const newestFirst = [...created].sort((a, b) => Math.floor(created.indexOf(b) / 5) - Math.floor(created.indexOf(a) / 5) || (a < b ? -1 : 1));
    assert.deepEqual(seen, newestFirst);
  });

  it("keeps later pages in place when a container is created or removed between pages", async () => {
    const client = server.client("grpc");
    const first = await client.listDockerContainers({ all: true, labelSelector: page, pageSize: 10 });
    server.engine.addContainer({ name: "page-late", labels: { ...managed, ...page } });
    await client.removeDockerContainer({ container: first.containers[0]!.id });
    const second = await client.listDockerContainers({ all: true, labelSelector: page, pageSize: 10, pageToken: first.nextPageToken });
    const rest = [...first.containers, ...second.containers].map((c) => c.name);
    assert.equal(new Set(rest).size, 20);
    assert.ok(!rest.includes("page-late"), "a newer container does not shift the pages after the first");
    created = created.filter((id) => id !== first.containers[0]!.id);
  });

  it("refuses a page token used with other filters, and one it never issued, naming page_token; the page size may change", async () => {
    const client = server.client("grpc");
    const first = await client.listDockerContainers({ all: true, labelSelector: page, pageSize: 5 });
    const otherFilters = await rpcError(client.listDockerContainers({ all: true, labelSelector: page, namePrefix: "x", pageSize: 5, pageToken: first.nextPageToken }));
    assert.equal(otherFilters.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(otherFilters), ["page_token"]);
    const biggerPages = await client.listDockerContainers({ all: true, labelSelector: page, pageSize: 6, pageToken: first.nextPageToken });
    assert.equal(biggerPages.containers.length, 6, "the page size may change between pages");
    const forged = await rpcError(client.listDockerContainers({ pageToken: Buffer.from('{"c":1,"i":"x"}').toString("base64url") }));
    assert.deepEqual(badRequestFields(forged), ["page_token"]);
  });
});

describe("ListDockerContainers filters as the engine does", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
    server.engine.addContainer({ name: "tier-a", labels: { ...managed, tier: "a" }, state: "running" });
    server.engine.addContainer({ name: "tier-b", labels: { ...managed, tier: "b" }, state: "exited" });
    server.engine.addContainer({ name: "untiered", labels: managed });
    server.engine.addContainer({ name: "cli-made", labels: { tier: "a" }, state: "running" });
    await server.cacheSettled();
  });
  after(() => server.close());

  const names = async (request: Parameters<ReturnType<FastServer["client"]>["listDockerContainers"]>[0]) =>
    (await server.client("grpc").listDockerContainers(request)).containers.map((c) => c.name).sort();

  it("by label value, or a key alone for any value", async () => {
    assert.deepEqual(await names({ all: true, labelSelector: { tier: "a" } }), ["tier-a"]);
    assert.deepEqual(await names({ all: true, labelSelector: { tier: "" } }), ["tier-a", "tier-b"]);
  });

  it("by name prefix, with or without the engine's leading slash", async () => {
    assert.deepEqual(await names({ all: true, namePrefix: "tier-" }), ["tier-a", "tier-b"]);
    assert.deepEqual(await names({ all: true, namePrefix: "/unt" }), ["untiered"]);
  });

  it("by state, which implies all; without all or a state, only running containers", async () => {
    assert.deepEqual(await names({}), ["tier-a"]);
    assert.deepEqual(await names({ states: [ContainerState.EXITED, ContainerState.CREATED] }), ["tier-b", "untiered"]);
    const [exited] = (await server.client("grpc").listDockerContainers({ states: [ContainerState.EXITED] })).containers;
    assert.equal(exited?.state, ContainerState.EXITED);
  });

  it("hides containers Osiris does not manage, and refuses managed_only=false on a managed-scope server", async () => {
    assert.ok(!(await names({ all: true })).includes("cli-made"));
    const refused = await rpcError(server.client("grpc").listDockerContainers({ all: true, managedOnly: false }));
    assert.equal(refused.code, Code.PermissionDenied);
    assert.match(refused.rawMessage, /OSIRIS_SCOPE/);
  });
});

describe("ListDockerContainers on an all-scope server (OSIRIS_SCOPE=all)", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer({ env: { OSIRIS_SCOPE: "all" } });
    server.engine.addContainer({ name: "managed-one", labels: managed });
    server.engine.addContainer({ name: "cli-made" });
    await server.cacheSettled();
  });
  after(() => server.close());

  it("still lists managed containers only by default, and every container with managed_only=false", async () => {
    const client = server.client("grpc-web");
    assert.deepEqual((await client.listDockerContainers({ all: true })).containers.map((c) => c.name), ["managed-one"]);
    const everything = await client.listDockerContainers({ all: true, managedOnly: false });
    assert.deepEqual(everything.containers.map((c) => c.name).sort(), ["cli-made", "managed-one"]);
  });
});
