import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, type ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ContainerState, Protocol, RestartPolicyMode } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  containerExists,
  docker,
  eventually,
  exitsOnSigint,
  greetingServer,
  newTestRun,
  removeTestContainers,
  testImage,
} from "../support/engine-fixtures.js";
import { rpcError } from "../support/rpc-assertions.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";


describe("RunDockerContainer and StopDockerContainer against a real engine", () => {
  const run = newTestRun();
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await removeTestContainers(run.id);
    await server.close();
  });

  for (const protocol of protocols) {
    describe(`over ${protocol}`, () => {
      it("runs a container whose env is visible through a port the engine picked, then stops it with SIGKILL after the grace period", async () => {
        const client = server.client(protocol);
        const greeting = `hello over ${protocol}`;
        const { container, warnings } = await client.runDockerContainer({
          image: testImage,
          name: run.name(`greeter-${protocol}`),
          command: greetingServer,
          env: { GREETING: greeting },
          ports: [{ containerPort: 80, hostPort: 0, hostIp: "127.0.0.1" }],
          labels: run.labels,
        });
        assert.ok(container);
        assert.deepEqual(warnings, []);
        assert.equal(container.state, ContainerState.RUNNING);
        assert.equal(container.name, run.name(`greeter-${protocol}`));
        assert.match(container.id, /^[0-9a-f]{64}$/);
        assert.match(container.imageId, /^sha256:[0-9a-f]{64}$/);
        assert.equal(container.labels["io.osiris.managed"], "true");
        assert.ok(container.createdAt && container.startedAt);
        assert.equal(container.finishedAt, undefined);
        const [binding] = container.ports;
        assert.ok(binding);
        assert.equal(binding.containerPort, 80);
        assert.equal(binding.protocol, Protocol.TCP);
        assert.equal(binding.hostIp, "127.0.0.1");
        assert.ok(binding.hostPort > 0, "the engine reports the port it chose");

        const body = await eventuallyFetch(`http://127.0.0.1:${binding.hostPort}/`);
        assert.equal(body.trim(), greeting);

        // busybox httpd as PID 1 ignores SIGTERM, so only the SIGKILL after 1 s ends it.
        const stopped = await client.stopDockerContainer({ container: container.name, timeoutSeconds: 1 });
        assert.equal(stopped.alreadyStopped, false);
        assert.equal(stopped.container?.state, ContainerState.EXITED);
        assert.equal(stopped.container?.exitCode, 137);
        assert.ok(stopped.container?.finishedAt);
      });

      it("answers NOT_FOUND for a container that does not exist", async () => {
        const missing = run.name(`missing-${protocol}`);
        const error = await rpcError(server.client(protocol).stopDockerContainer({ container: missing }));
        assert.equal(error.code, Code.NotFound);
        assert.equal(error.rawMessage, `Container not found: "${missing}"`);
      });

      it("answers INVALID_ARGUMENT with a BadRequest detail naming every bad field", async () => {
        const error = await rpcError(
          server.client(protocol).runDockerContainer({
            image: "Not A Valid Reference",
            name: "-bad",
            env: { "": "x", "A=B": "secret-value-never-echoed" },
            ports: [
              { containerPort: 0 },
              { containerPort: 80, hostIp: "not-an-ip" },
              { containerPort: 80 },
            ],
          }),
        );
        assert.equal(error.code, Code.InvalidArgument);
        const fields = badRequestFields(error);
        assert.deepEqual(fields.sort(), [
          "env[\"\"]",
          "env[\"A=B\"]",
          "image",
          "name",
          "ports[0].container_port",
          "ports[1].host_ip",
          "ports[2]",
        ]);
        assert.doesNotMatch(error.message, /secret-value-never-echoed/);
      });
    });
  }

  it("stops with a requested signal and reports the exit code the container chose", async () => {
    const client = server.client("grpc");
    const { container } = await client.runDockerContainer({
      image: testImage,
      name: run.name("sigint"),
      command: exitsOnSigint(3),
      labels: run.labels,
    });
    const stopped = await client.stopDockerContainer({ container: container!.id, signal: "SIGINT", timeoutSeconds: 30 });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(stopped.container?.exitCode, 3);
  });

  it("finds a container by a unique id prefix", async () => {
    const client = server.client("connect-json");
    const { container } = await client.runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      labels: run.labels,
    });
    const stopped = await client.stopDockerContainer({ container: container!.id.slice(0, 16), signal: "INT" });
    assert.equal(stopped.container?.id, container!.id);
    assert.equal(stopped.container?.exitCode, 0);
  });

  it("refuses to stop an exited container with FAILED_PRECONDITION, and succeeds with ignore_already_stopped", async () => {
    const client = server.client("grpc-web");
    const name = run.name("exits-at-once");
    await client.runDockerContainer({ image: testImage, name, command: ["true"], labels: run.labels });
    assert.ok(await eventually(async () => (await docker.getContainer(name).inspect()).State.Status === "exited"));

    const error = await rpcError(client.stopDockerContainer({ container: name }));
    assert.equal(error.code, Code.FailedPrecondition);
    assert.equal(error.rawMessage, `Container already stopped: "${name}"`);

    const stopped = await client.stopDockerContainer({ container: name, ignoreAlreadyStopped: true });
    assert.equal(stopped.alreadyStopped, true);
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(stopped.container?.exitCode, 0);
  });

  it("treats a created but never started container as already stopped", async () => {
    const name = run.name("never-started");
    // Labelled as managed, as a container Osiris created but never started would be.
    await docker.createContainer({ Image: testImage, name, Labels: { ...run.labels, "io.osiris.managed": "true" }, Cmd: ["true"] });
    const error = await rpcError(server.client("grpc").stopDockerContainer({ container: name }));
    assert.equal(error.code, Code.FailedPrecondition);
    const stopped = await server.client("grpc").stopDockerContainer({ container: name, ignoreAlreadyStopped: true });
    assert.equal(stopped.alreadyStopped, true);
    assert.equal(stopped.container?.state, ContainerState.CREATED);
  });

  it("answers ALREADY_EXISTS when the name is taken, and leaves the first container alone", async () => {
    const client = server.client("grpc");
    const name = run.name("taken");
    const first = await client.runDockerContainer({ image: testImage, name, command: exitsOnSigint(0), labels: run.labels });
    const error = await rpcError(client.runDockerContainer({ image: testImage, name, command: ["true"], labels: run.labels }));
    assert.equal(error.code, Code.AlreadyExists);
    assert.match(error.rawMessage, new RegExp(name));
    assert.equal((await docker.getContainer(name).inspect()).Id, first.container?.id);
  });

  it("answers FAILED_PRECONDITION naming the port when the host port is taken, and leaves nothing behind", async () => {
    const client = server.client("connect-json");
    const holder = await client.runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      ports: [{ containerPort: 80, hostIp: "127.0.0.1" }],
      labels: run.labels,
    });
    const takenPort = holder.container!.ports[0]!.hostPort;
    const name = run.name("port-clash");
    const error = await rpcError(
      client.runDockerContainer({
        image: testImage,
        name,
        command: exitsOnSigint(0),
        ports: [{ containerPort: 80, hostPort: takenPort, hostIp: "127.0.0.1" }],
        labels: run.labels,
      }),
    );
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, new RegExp(`Host port already allocated: ${takenPort}`));
    assert.equal(await containerExists(name), false, "the created container was removed");
  });

  it("answers FAILED_PRECONDITION when the executable is missing, and leaves nothing behind", async () => {
    const name = run.name("no-such-binary");
    const error = await rpcError(
      server.client("grpc").runDockerContainer({ image: testImage, name, command: ["/no/such/binary"], labels: run.labels }),
    );
    assert.equal(error.code, Code.FailedPrecondition);
    assert.match(error.rawMessage, /no such file or directory|not found/);
    assert.equal(await containerExists(name), false);
  });

  it("answers NOT_FOUND for a missing image with pull_policy NEVER", async () => {
    const error = await rpcError(
      server.client("grpc").runDockerContainer({ image: "osiris-test/absent:1.0", pullPolicy: 3, labels: run.labels }),
    );
    assert.equal(error.code, Code.NotFound);
    assert.match(error.rawMessage, /^Image not found: "osiris-test\/absent:1.0"/);
  });

  it("applies restart policy, resource limits, working dir and user", async () => {
    const { container } = await server.client("grpc").runDockerContainer({
      image: testImage,
      command: exitsOnSigint(0),
      labels: { ...run.labels, team: "platform" },
      restartPolicy: { mode: RestartPolicyMode.ON_FAILURE, maxRetryCount: 3 },
      resources: { memoryBytes: 64n * 1024n * 1024n, cpu: { case: "cpuMillicores", value: 250 } },
      workingDir: "/tmp",
      user: "65534:65534",
    });
    const inspect = await docker.getContainer(container!.id).inspect();
    assert.equal(inspect.HostConfig.RestartPolicy?.Name, "on-failure");
    assert.equal(inspect.HostConfig.RestartPolicy?.MaximumRetryCount, 3);
    assert.equal(inspect.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(inspect.HostConfig.NanoCpus, 250_000_000);
    assert.equal(inspect.Config.WorkingDir, "/tmp");
    assert.equal(inspect.Config.User, "65534:65534");
    assert.equal(container!.labels.team, "platform");
  });

  it("stops an auto_remove container and still reports its exit code", async () => {
    const client = server.client("grpc");
    const { container } = await client.runDockerContainer({
      image: testImage,
      command: exitsOnSigint(5),
      autoRemove: true,
      labels: run.labels,
    });
    const stopped = await client.stopDockerContainer({ container: container!.id, signal: "SIGINT" });
    assert.equal(stopped.container?.state, ContainerState.EXITED);
    assert.equal(stopped.container?.exitCode, 5);
    assert.ok(await eventually(async () => !(await containerExists(container!.id))));
  });

  it("rolls back a run whose client cancelled, leaving no container", async () => {
    const name = run.name("cancelled");
    const controller = new AbortController();
    const call = server.client("grpc").runDockerContainer(
      { image: testImage, name, command: exitsOnSigint(0), labels: run.labels },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 20);
    const error = await rpcError(call);
    assert.equal(error.code, Code.Canceled);
    // The engine may still be creating it; the rollback removes it when it lands.
    assert.ok(await eventually(async () => !(await containerExists(name))), "no container is left behind");
  });

  it("rolls back a run whose deadline passed, leaving no container", async () => {
    const name = run.name("deadline");
    const error = await rpcError(
      server.client("connect-json").runDockerContainer(
        { image: testImage, name, command: exitsOnSigint(0), labels: run.labels },
        { timeoutMs: 30 },
      ),
    );
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.ok(await eventually(async () => !(await containerExists(name))));
  });
});

function badRequestFields(error: ConnectError): string[] {
  return error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((v) => v.field));
}

async function eventuallyFetch(url: string): Promise<string> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return await response.text();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}

