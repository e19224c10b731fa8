import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { docker, newTestRun, removeTestContainers, testImage, testRunLabel } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

const run = newTestRun();
/** An image of this test run alone: the test image plus a label, so it has an id no other test shares. */
const throwaway = `osiris-test/throwaway-${run.id}`;

function buildThrowaway(tag: string): string {
  // The classic builder: no BuildKit daemon to start for a one-line Dockerfile.
  const dockerfile = `FROM ${testImage}\nLABEL ${testRunLabel}=${run.id} osiris-test.tag=${tag}\n`;
  return execFileSync("docker", ["build", "--quiet", "--tag", `${throwaway}:${tag}`, "-"], {
    input: dockerfile,
    env: { ...process.env, DOCKER_BUILDKIT: "0" },
    stdio: ["pipe", "pipe", "ignore"],
  })
    .toString()
    .trim();
}

async function imageExists(reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

describe("ListDockerImages and RemoveDockerImage against a real engine", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    const images = await docker.listImages({ filters: { label: [`${testRunLabel}=${run.id}`] } });
    for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    await server.close();
  });

  for (const protocol of protocols) {
    it(`lists the test image with its repository, tag, id, size and creation time (${protocol})`, async () => {
      const { images } = await server.client(protocol).listDockerImages({});
      const engineImage = await docker.getImage(testImage).inspect();
      const listed = images.find((image) => image.id === engineImage.Id);
      assert.ok(listed, "the test image is listed by its id");
      assert.ok(listed.tags.some((tag) => tag.repository === "osiris-test/busybox" && tag.tag === "latest"));
      assert.equal(listed.sizeBytes, BigInt(engineImage.Size));
      assert.equal(listed.createdAt?.seconds, BigInt(Math.floor(Date.parse(engineImage.Created) / 1000)));
    });
  }

  it("names the managed containers that use an image", async () => {
    const imageId = buildThrowaway("listed");
    const { container } = await server.client("grpc").runDockerContainer({
      image: `${throwaway}:listed`,
      name: run.name("user"),
      command: ["sleep", "3600"],
      labels: run.labels,
    });
    const { images } = await server.client("grpc-web").listDockerImages({});
    const listed = images.find((image) => image.id === imageId);
    assert.deepEqual(listed?.containers.map((user) => [user.id, user.name]), [[container!.id, run.name("user")]]);
  });

  it("removes an unused name, keeping the image for its other names", async () => {
    const imageId = buildThrowaway("kept");
    await docker.getImage(imageId).tag({ repo: throwaway, tag: "second-name" });
    const removed = await server.client("connect-json").removeDockerImage({ image: `${throwaway}:second-name` });
    assert.deepEqual([removed.untagged, removed.deleted], [[`${throwaway}:second-name`], []]);
    assert.equal(await imageExists(`${throwaway}:second-name`), false);
    assert.equal(await imageExists(`${throwaway}:kept`), true);
  });

  it("removes an unused image by its id, deleting it", async () => {
    const imageId = buildThrowaway("by-id");
    const removed = await server.client("grpc").removeDockerImage({ image: imageId });
    assert.deepEqual(removed.untagged, [`${throwaway}:by-id`]);
    assert.ok(removed.deleted.includes(imageId), JSON.stringify(removed.deleted));
    assert.equal(await imageExists(imageId), false);
  });

  it("refuses an image a container uses with FAILED_PRECONDITION; force removes the name but never an image a running container uses", async () => {
    const imageId = buildThrowaway("in-use");
    const image = `${throwaway}:in-use`;
    const client = server.client("grpc");
    await client.runDockerContainer({ image, command: ["sleep", "3600"], labels: run.labels });
    const refused = await rpcError(client.removeDockerImage({ image }));
    assert.equal(refused.code, Code.FailedPrecondition);
    assert.match(refused.rawMessage, /^Cannot remove image .*must force/);
    const byId = await rpcError(client.removeDockerImage({ image: imageId, force: true }));
    assert.equal(byId.code, Code.FailedPrecondition);
    assert.match(byId.rawMessage, /cannot be forced/);
    const forced = await client.removeDockerImage({ image, force: true });
    assert.deepEqual([forced.untagged, forced.deleted], [[image], []], "the running container still holds the image");
    assert.equal(await imageExists(image), false);
    assert.equal(await imageExists(imageId), true);
  });

  it("answers NOT_FOUND for an image the engine does not have, and INVALID_ARGUMENT for a malformed one", async () => {
    const unknown = await rpcError(server.client("grpc-web").removeDockerImage({ image: `${throwaway}:never-built` }));
    assert.equal(unknown.code, Code.NotFound);
    const malformed = await rpcError(server.client("grpc-web").removeDockerImage({ image: "Upper/Case" }));
    assert.equal(malformed.code, Code.InvalidArgument);
  });
});

describe("RemoveDockerImage under OSIRIS_ALLOWED_IMAGES", () => {
  let server: TestServer;
  before(async () => {
    const { loadConfig } = await import("../../server/config.js");
    server = await startTestServer(undefined, { runPolicy: loadConfig({ OSIRIS_ALLOWED_IMAGES: "127.0.0.1:5000/*" }).runPolicy });
  });
  after(async () => {
    const images = await docker.listImages({ filters: { label: [`${testRunLabel}=${run.id}`] } });
    for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    await server.close();
  });

  it("refuses to remove an image outside the allowlist with PERMISSION_DENIED, by name or by id", async () => {
    const imageId = buildThrowaway("guarded");
    for (const image of [`${throwaway}:guarded`, imageId]) {
      const refused = await rpcError(server.client("grpc").removeDockerImage({ image }));
      assert.equal(refused.code, Code.PermissionDenied, image);
      assert.match(refused.rawMessage, /OSIRIS_ALLOWED_IMAGES/);
    }
    assert.equal(await imageExists(imageId), true);
  });
});
