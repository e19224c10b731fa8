import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  Protocol,
  RestartPolicyMode,
  RunDockerContainerRequestSchema,
  StopDockerContainerRequestSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import {
  InvalidRequestError,
  runSpecFromRequest,
  stopSpecFromRequest,
} from "../../server/rpc/request-validation.js";

function violations(action: () => unknown): Record<string, string> {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof InvalidRequestError);
    return Object.fromEntries(error.violations.map((v) => [v.field, v.description]));
  }
  assert.fail("expected InvalidRequestError");
}

const runRequest = (fields: Parameters<typeof create<typeof RunDockerContainerRequestSchema>>[1]) =>
  create(RunDockerContainerRequestSchema, { image: "busybox", ...fields });

describe("run request validation", () => {
  it("maps a full request to a run spec", () => {
    const spec = runSpecFromRequest(
      runRequest({
        name: "web-1",
        env: { A: "1" },
        ports: [{ containerPort: 80, hostPort: 8080, hostIp: "::1", protocol: Protocol.UDP }],
        restartPolicy: { mode: RestartPolicyMode.ON_FAILURE, maxRetryCount: 2 },
        resources: { memoryBytes: 10_000_000n, cpu: { case: "nanoCpus", value: 500_000_000n } },
        workingDir: "/srv",
        user: "1000:1000",
      }),
    );
    assert.equal(spec.name, "web-1");
    assert.deepEqual(spec.ports, [{ containerPort: 80, hostPort: 8080, hostIp: "::1", protocol: "udp" }]);
    assert.deepEqual(spec.restartPolicy, { mode: "on-failure", maxRetryCount: 2 });
    assert.equal(spec.memoryBytes, 10_000_000);
    assert.equal(spec.nanoCpus, 500_000_000);
    assert.equal(spec.pullPolicy, "if-not-present");
  });

  it("converts millicores to nano-CPUs", () => {
    assert.equal(runSpecFromRequest(runRequest({ resources: { cpu: { case: "cpuMillicores", value: 1500 } } })).nanoCpus, 1_500_000_000);
  });

  it("names every offending field at once", () => {
    const found = violations(() =>
      runSpecFromRequest(
        runRequest({
          image: "",
          name: "a",
          env: { "": "v", "K=V": "v" },
          ports: [
            { containerPort: 70000 },
            { containerPort: 22, hostPort: 65536, hostIp: "300.1.1.1" },
            { containerPort: 22, protocol: Protocol.TCP },
            { containerPort: 53, protocol: 9 as Protocol },
          ],
          labels: { "io.osiris.managed": "false" },
          restartPolicy: { mode: RestartPolicyMode.ALWAYS, maxRetryCount: 1 },
          autoRemove: true,
          resources: { memoryBytes: 1024n },
          workingDir: "relative",
          user: "a b",
        }),
      ),
    );
    assert.deepEqual(Object.keys(found).sort(), [
      "auto_remove",
      'env[""]',
      'env["K=V"]',
      "image",
      'labels["io.osiris.managed"]',
      "name",
      "ports[0].container_port",
      "ports[1].host_ip",
      "ports[1].host_port",
      "ports[2]",
      "ports[3].protocol",
      "resources.memory_bytes",
      "restart_policy.max_retry_count",
      "user",
      "working_dir",
    ]);
  });

  it("treats the same container port over UDP and TCP as different ports", () => {
    const spec = runSpecFromRequest(
      runRequest({ ports: [{ containerPort: 53, protocol: Protocol.UDP }, { containerPort: 53 }] }),
    );
    assert.equal(spec.ports.length, 2);
  });

  it("never puts an env value into a violation", () => {
    const found = violations(() => runSpecFromRequest(runRequest({ env: { "A=B": "hunter2" } })));
    assert.doesNotMatch(JSON.stringify(found), /hunter2/);
  });

  it("refuses too few CPUs", () => {
    assert.ok("resources.cpu_millicores" in violations(() => runSpecFromRequest(runRequest({ resources: { cpu: { case: "cpuMillicores", value: 5 } } }))));
    assert.ok("resources.nano_cpus" in violations(() => runSpecFromRequest(runRequest({ resources: { cpu: { case: "nanoCpus", value: -1n } } }))));
  });
});

describe("stop request validation", () => {
  it("normalises the signal and keeps an explicit zero timeout", () => {
    const spec = stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "web", signal: "int", timeoutSeconds: 0 }));
    assert.equal(spec.signal, "SIGINT");
    assert.equal(spec.timeoutSeconds, 0);
  });

  it("leaves timeout and signal to the container when unset", () => {
    const spec = stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "/web" }));
    assert.equal(spec.signal, undefined);
    assert.equal(spec.timeoutSeconds, undefined);
  });

  it("rejects an empty container, an unknown signal and an absurd timeout", () => {
    const found = violations(() =>
      stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "", signal: "SIGNOPE", timeoutSeconds: 86_400 })),
    );
    assert.deepEqual(Object.keys(found).sort(), ["container", "signal", "timeout_seconds"]);
  });

  it("accepts signal numbers up to 64", () => {
    assert.equal(stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "web", signal: "15" })).signal, "15");
    assert.ok("signal" in violations(() => stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "web", signal: "65" }))));
  });
});
