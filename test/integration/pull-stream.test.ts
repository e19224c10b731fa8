import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { PullDockerImageResponse } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { authRegistryCredentials, authRegistryImage, docker, registryImage, removeLocalImage } from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { startTestServer, type ProtocolName, type TestServer } from "../support/test-server.js";

async function pullAll(stream: AsyncIterable<PullDockerImageResponse>): Promise<PullDockerImageResponse[]> {
  const messages: PullDockerImageResponse[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

describe("PullDockerImage streams progress from local registries on 127.0.0.1", () => {
  let server: TestServer;
  const logLines: string[] = [];

  before(async () => {
    server = await startTestServer(undefined, { logLevel: "trace" }, { write: (line) => void logLines.push(line) });
  });
  after(async () => {
    await removeLocalImage(registryImage);
    await removeLocalImage(authRegistryImage);
    await server.close();
  });

  for (const protocol of ["grpc-web", "grpc"] as ProtocolName[]) {
    it(`streams layer progress, then ends with the image id and digest (${protocol})`, async () => {
      await removeLocalImage(registryImage);
      const messages = await pullAll(server.client(protocol).pullDockerImage({ image: registryImage }));
      const progress = messages.filter((m) => m.update.case === "progress");
      assert.ok(progress.length >= 2, `several progress messages (${progress.length})`);
      assert.ok(
        progress.some((m) => m.update.case === "progress" && m.update.value.layerId !== "" && m.update.value.status !== ""),
        "progress names layers",
      );
      const last = messages.at(-1)!;
      assert.equal(last.update.case, "image", "the result comes last");
      assert.equal(messages.filter((m) => m.update.case === "image").length, 1);
      const image = last.update.case === "image" ? last.update.value : undefined;
      const local = await docker.getImage(registryImage).inspect();
      assert.equal(image?.imageId, local.Id);
      assert.match(image?.digest ?? "", /^sha256:[0-9a-f]{64}$/);
      assert.ok(local.RepoDigests.some((digest) => digest.endsWith(image!.digest)));
    });
  }

  it("answers NOT_FOUND for an unknown tag and UNAVAILABLE for an unreachable registry, never success", async () => {
    const client = server.client("grpc-web");
    const unknown = await rpcError(pullAll(client.pullDockerImage({ image: "127.0.0.1:5000/osiris-test/busybox:no-such-tag" })));
    assert.equal(unknown.code, Code.NotFound);
    const unreachable = await rpcError(pullAll(client.pullDockerImage({ image: "127.0.0.1:5999/osiris-test/busybox:latest" })));
    assert.equal(unreachable.code, Code.Unavailable);
  });

  it("refuses wrong credentials with UNAUTHENTICATED and pulls with the right ones, logging neither", async () => {
    await removeLocalImage(authRegistryImage);
    const client = server.client("grpc");
    const wrong = await rpcError(
      pullAll(client.pullDockerImage({ image: authRegistryImage, registryAuth: { username: "osiris", password: "wrong-pull-password" } })),
    );
    assert.ok([Code.Unauthenticated, Code.PermissionDenied].includes(wrong.code), Code[wrong.code]);
    const messages = await pullAll(client.pullDockerImage({ image: authRegistryImage, registryAuth: authRegistryCredentials }));
    assert.equal(messages.at(-1)?.update.case, "image");
    const log = logLines.join("");
    assert.ok(log.includes("PullDockerImage"), "the calls were logged");
    assert.ok(!log.includes("wrong-pull-password") && !log.includes(authRegistryCredentials.password), "no password in the log");
  });

  it("names the field when the image cannot be pulled by name", async () => {
    const error = await rpcError(pullAll(server.client("connect-json").pullDockerImage({ image: `sha256:${"a".repeat(64)}` })));
    assert.equal(error.code, Code.InvalidArgument);
    assert.equal(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "image");
  });
});
