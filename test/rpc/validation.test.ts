import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJson } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { MountType, RestartPolicyMode, WaitCondition } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { protocols, startFastServer, type FastServer } from "../support/fast-server.js";
import { badRequestFields, rpcError, streamError, testImage } from "./expectations.js";

describe("request validation: INVALID_ARGUMENT with a BadRequest naming every bad field, before any engine call", () => {
  let server: FastServer;
  before(async () => {
    server = await startFastServer();
  });
  after(() => server.close());

  /** No request of this suite is valid, so none may reach the engine beyond the health ping. */
  const assertEngineUntouched = () => {
    const { ping: _ping, ...calls } = server.engine.calls;
    assert.deepEqual(Object.values(calls).filter((count) => count > 0), [], JSON.stringify(calls));
  };

  for (const protocol of protocols) {
    it(`names the bad image, name, env keys and ports of a Run, and echoes no env value (${protocol})`, async () => {
      const error = await rpcError(
        server.client(protocol).runDockerContainer({
          image: "Not A Valid Reference",
          name: "-bad",
          env: { "": "x", "A=B": "secret-value-never-echoed" },
          ports: [{ containerPort: 0 }, { containerPort: 80, hostIp: "not-an-ip" }, { containerPort: 80 }],
        }),
      );
      assert.equal(error.code, Code.InvalidArgument);
      assert.deepEqual(badRequestFields(error), ['env[""]', 'env["A=B"]', "image", "name", "ports[0].container_port", "ports[1].host_ip", "ports[2]"]);
      assert.doesNotMatch(error.message, /secret-value-never-echoed/);
      assertEngineUntouched();
    });
  }

  it("names a Run's mounts, restart policy, resources, working dir, user, request id and reserved labels", async () => {
    const error = await rpcError(
      server.client("grpc").runDockerContainer({
        image: testImage,
        labels: { "io.osiris.managed": "false" },
        autoRemove: true,
        restartPolicy: { mode: RestartPolicyMode.ALWAYS, maxRetryCount: 2 },
        resources: { memoryBytes: 1024n, cpu: { case: "cpuMillicores", value: 1 } },
        workingDir: "relative",
        user: "no spaces",
        requestId: "not valid!",
        mounts: [
          { type: MountType.UNSPECIFIED, target: "/a" },
          { type: MountType.BIND, source: "/srv", target: "/b", readOnly: false },
          { type: MountType.VOLUME, source: "bad name", target: "/a" },
          { type: MountType.TMPFS, source: "x", target: "/" },
        ],
      }),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(error), [
      "auto_remove",
      'labels["io.osiris.managed"]',
      "mounts[0].type",
      "mounts[1].read_only",
      "mounts[2].source",
      "mounts[2].target",
      "mounts[3].source",
      "mounts[3].target",
      "request_id",
      "resources.cpu_millicores",
      "resources.memory_bytes",
      "restart_policy.max_retry_count",
      "user",
      "working_dir",
    ]);
    assertEngineUntouched();
  });

  it("names a Run's user longer than any Linux name, and a working dir with a NUL, as Exec does", async () => {
    const error = await rpcError(
      server.client("grpc").runDockerContainer({ image: "osiris-test/busybox:latest", user: "u".repeat(10_000), workingDir: "/tmp/\0x" }),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(error), ["user", "working_dir"]);
    assert.ok(error.rawMessage.length < 2000, "the user is not echoed back");
    assertEngineUntouched();
  });

  it("names a Stop's container, timeout and signal", async () => {
    const error = await rpcError(server.client("grpc").stopDockerContainer({ container: "", timeoutSeconds: 3601, signal: "NOPE" }));
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(error), ["container", "signal", "timeout_seconds"]);
    assertEngineUntouched();
  });

  it("names a List's states, hidden selector labels, page size and page token", async () => {
    const error = await rpcError(
      server.client("connect-json").listDockerContainers({
        states: [0],
        labelSelector: { "io.osiris.request-id": "guess", "a=b": "" },
        pageSize: 1001,
        pageToken: "bm90IGEgdG9rZW4",
      }),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(error), ['label_selector["a=b"]', 'label_selector["io.osiris.request-id"]', "page_size", "page_token", "states[0]"]);
    assertEngineUntouched();
  });

  it("names an oversized label selector once, not entry by entry", async () => {
    const selector = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key-${i}`, "v"]));
    const error = await rpcError(server.client("grpc").listDockerContainers({ labelSelector: selector }));
    assert.deepEqual(badRequestFields(error), ["label_selector"]);
    assert.match(error.findDetails(BadRequestSchema)[0]!.fieldViolations[0]!.description, /at most 64 entries/);
  });

  it("names a Logs request's container, and an until combined with follow or before since", async () => {
    const client = server.client("grpc-web");
    const followed = await streamError(
      client.streamDockerContainerLogs({ container: "web", follow: true, until: { seconds: 10n, nanos: 0 } }),
    );
    assert.equal(followed.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(followed), ["until"]);
    const backwards = await streamError(
      client.streamDockerContainerLogs({ container: "", since: { seconds: 20n, nanos: 0 }, until: { seconds: 10n, nanos: 0 } }),
    );
    assert.deepEqual(badRequestFields(backwards), ["container", "until"]);
    assertEngineUntouched();
  });

  it("names a Watch's container, event types and selector labels", async () => {
    const error = await streamError(
      server.client("grpc").watchDockerEvents({ container: "-x", types: [1, 0], labelSelector: { "io.osiris.instance": "" } }),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.deepEqual(badRequestFields(error), ["container", 'label_selector["io.osiris.instance"]', "types[1]"]);
    assertEngineUntouched();
  });

  it("names a Pull's image, and refuses to pull an image id", async () => {
    const client = server.client("connect-json");
    assert.deepEqual(badRequestFields(await streamError(client.pullDockerImage({ image: "no spaces allowed" }))), ["image"]);
    const byId = await streamError(client.pullDockerImage({ image: "a".repeat(64) }));
    assert.equal(byId.code, Code.InvalidArgument);
    assert.match(byId.message, /an image id cannot be pulled/);
    assertEngineUntouched();
  });

  it("names the container of Get, Start, Restart, Remove and Wait, Restart's timeout and Wait's condition", async () => {
    const client = server.client("grpc");
    for (const call of [
      () => client.getDockerContainer({ container: "" }),
      () => client.startDockerContainer({ container: "/" }),
      () => client.removeDockerContainer({ container: "//web" }),
    ]) {
      assert.deepEqual(badRequestFields(await rpcError(call())), ["container"]);
    }
    assert.deepEqual(badRequestFields(await rpcError(client.restartDockerContainer({ container: "", timeoutSeconds: 3601 }))), [
      "container",
      "timeout_seconds",
    ]);
    assert.deepEqual(badRequestFields(await rpcError(client.waitDockerContainer({ container: "web", condition: 99 as WaitCondition }))), ["condition"]);
    assertEngineUntouched();
  });

  it("refuses JSON naming an unknown field or a short enum name, naming it", async () => {
    const answer = async (body: object) => {
      const response = await fetch(`${server.baseUrl}/osiris.docker.v1.DockerService/RunDockerContainer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const error = errorFromJson(await response.json(), undefined, new ConnectError("not a Connect error"));
      return { status: response.status, code: error.code, fields: badRequestFields(error) };
    };
    assert.deepEqual(await answer({ image: testImage, nam: "web" }), { status: 400, code: Code.InvalidArgument, fields: ["nam"] });
    assert.deepEqual(await answer({ image: testImage, pullPolicy: "NEVER" }), { status: 400, code: Code.InvalidArgument, fields: ["pull_policy"] });
    assertEngineUntouched();
  });
});
