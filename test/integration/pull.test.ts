import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ContainerState, PullPolicy } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  authRegistryCredentials,
  authRegistryImage,
  docker,
  exitsOnSigint,
  newTestRun,
  registryImage,
  removeLocalImage,
  removeTestContainers,
  testImage,
} from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

async function imageIsLocal(reference: string): Promise<boolean> {
  return docker
    .getImage(reference)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/**
 * Makes `reference` name a local image that differs from the registry's (the
 * test image plus a label) and returns its id.
 */
async function localImageNamed(reference: string, run: ReturnType<typeof newTestRun>): Promise<string> {
  const [repo, tag] = [reference.slice(0, reference.lastIndexOf(":")), reference.slice(reference.lastIndexOf(":") + 1)];
  const source = await docker.createContainer({ Image: testImage, Cmd: ["true"], Labels: run.labels });
  try {
    const { Id } = (await source.commit({ repo, tag, changes: `LABEL osiris-test.stale=${run.id}` })) as { Id: string };
    return Id;
  } finally {
    await source.remove({ force: true });
  }
}

/** The id of the image a loopback registry holds under `reference`: its config digest. */
async function registryImageId(reference: string): Promise<string> {
  const [, host, repository, tag] = /^([^/]+)\/(.+):([^:/]+)$/.exec(reference)!;
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 200, `the registry holds ${reference}`);
  return ((await response.json()) as { config: { digest: string } }).config.digest;
}

describe("RunDockerContainer pulls from registries (local registries on 127.0.0.1)", () => {
  const run = newTestRun();
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await removeLocalImage(registryImage);
    await removeLocalImage(authRegistryImage);
    await server.close();
  });

  it("pulls a missing image under IF_NOT_PRESENT and runs it", async () => {
    await removeTestContainers(run.id);
    await removeLocalImage(registryImage);
    const { container } = await server.client("grpc").runDockerContainer({
      image: registryImage,
      command: exitsOnSigint(0),
      labels: run.labels,
    });
    assert.equal(container?.state, ContainerState.RUNNING);
    assert.equal(container?.image, registryImage);
    assert.ok(await imageIsLocal(registryImage));
  });

  it("pulls again under ALWAYS even when the image is local", async () => {
    // A different image holds the registry image's name locally: only a pull puts the registry's image back under it.
    const stale = await localImageNamed(registryImage, run);
    try {
      const { container } = await server.client("connect-json").runDockerContainer({
        image: registryImage,
        pullPolicy: PullPolicy.ALWAYS,
        command: exitsOnSigint(0),
        labels: run.labels,
      });
      assert.equal(container?.state, ContainerState.RUNNING);
      const ran = (await docker.getContainer(container!.id).inspect()).Image;
      assert.notEqual(ran, stale, "the container does not run the image that was local before the Run");
      assert.equal(ran, await registryImageId(registryImage), "it runs the image the registry holds");
    } finally {
      await docker.getImage(stale).remove({ force: true }).catch(() => undefined);
    }
  });

  it("answers NOT_FOUND for a tag the registry does not have", async () => {
    const image = "127.0.0.1:5000/osiris-test/busybox:no-such-tag";
    const error = await rpcError(server.client("grpc").runDockerContainer({ image, labels: run.labels }));
    assert.equal(error.code, Code.NotFound);
    assert.match(error.rawMessage, /^Image not found: "127\.0\.0\.1:5000\/osiris-test\/busybox:no-such-tag"/);
  });

  it("answers NOT_FOUND for a repository the registry does not have", async () => {
    const image = "127.0.0.1:5000/osiris-test/no-such-repository";
    const error = await rpcError(server.client("grpc-web").runDockerContainer({ image, labels: run.labels }));
    assert.equal(error.code, Code.NotFound);
  });

  it("answers UNAVAILABLE when the registry cannot be reached", async () => {
    // Nothing listens on this loopback port.
    const image = "127.0.0.1:5999/osiris-test/busybox:latest";
    const error = await rpcError(server.client("grpc").runDockerContainer({ image, labels: run.labels }));
    assert.equal(error.code, Code.Unavailable);
    assert.match(error.rawMessage, /Registry unreachable/);
  });

  it("answers UNAUTHENTICATED when the registry wants credentials and gets none or wrong ones", async () => {
    await removeLocalImage(authRegistryImage);
    const anonymous = await rpcError(
      server.client("grpc").runDockerContainer({ image: authRegistryImage, labels: run.labels }),
    );
    assert.equal(anonymous.code, Code.Unauthenticated);
    const wrong = await rpcError(
      server.client("grpc").runDockerContainer({
        image: authRegistryImage,
        labels: run.labels,
        registryAuth: { username: "osiris", password: "wrong-password" },
      }),
    );
    assert.equal(wrong.code, Code.Unauthenticated);
    assert.doesNotMatch(wrong.message, /wrong-password/);
  });

  it("pulls with the right credentials", async () => {
    await removeLocalImage(authRegistryImage);
    const { container } = await server.client("grpc").runDockerContainer({
      image: authRegistryImage,
      command: exitsOnSigint(0),
      labels: run.labels,
      registryAuth: authRegistryCredentials,
    });
    assert.equal(container?.state, ContainerState.RUNNING);
  });
});

describe("an engine that cannot be reached", () => {
  const endpoint = "unix:///tmp/osiris-test-no-engine.sock";
  let server: TestServer;
  before(async () => {
    server = await startTestServer(endpoint);
  });
  after(async () => server.close());

  for (const protocol of ["grpc", "connect-json", "grpc-web"] as const) {
    it(`answers UNAVAILABLE naming the endpoint over ${protocol}`, async () => {
      const started = Date.now();
      const error = await rpcError(
        server.client(protocol).runDockerContainer({ image: "osiris-test/busybox" }, { timeoutMs: 10_000 }),
      );
      assert.equal(error.code, Code.Unavailable);
      assert.match(error.rawMessage, new RegExp(`^Docker engine unreachable at ${endpoint}`));
      assert.ok(Date.now() - started < 10_000, "fails fast rather than waiting for the deadline");
      const stop = await rpcError(server.client(protocol).stopDockerContainer({ container: "anything" }));
      assert.equal(stop.code, Code.Unavailable);
    });
  }
});
