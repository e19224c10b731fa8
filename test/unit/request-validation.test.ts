import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  ContainerState,
  EventType,
  GetDockerContainerRequestSchema,
  MountType,
  ListDockerContainersRequestSchema,
  Protocol,
  RestartPolicyMode,
  RunDockerContainerRequestSchema,
  StopDockerContainerRequestSchema,
  StreamDockerContainerLogsRequestSchema,
  WaitDockerContainerRequestSchema,
  WatchDockerEventsRequestSchema,
} from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { classifyDecodeFailure } from "../../server/rpc/decode-errors.js";
import { containerReferenceFromRequest } from "../../server/rpc/requests/container-reference.js";
import { eventFilterFromRequest } from "../../server/rpc/requests/events-request.js";
import { listQueryFromRequest } from "../../server/rpc/requests/list-request.js";
import { logQueryFromRequest } from "../../server/rpc/requests/logs-request.js";
import { restartArgumentsFromRequest } from "../../server/rpc/requests/restart-request.js";
import { runSpecFromRequest } from "../../server/rpc/requests/run-request.js";
import { stopSpecFromRequest } from "../../server/rpc/requests/stop-request.js";
import { InvalidRequestError, Violations } from "../../server/rpc/requests/violations.js";
import { waitArgumentsFromRequest } from "../../server/rpc/requests/wait-request.js";

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

describe("container references", () => {
  it("drop one leading '/' once, at the edge, for every RPC that takes one", () => {
    assert.equal(containerReferenceFromRequest({ container: "/web" }), "web");
    assert.equal(stopSpecFromRequest(create(StopDockerContainerRequestSchema, { container: "/web" })).container, "web");
    assert.equal(restartArgumentsFromRequest({ container: "/web" }).container, "web");
    assert.equal(waitArgumentsFromRequest(create(WaitDockerContainerRequestSchema, { container: "/web" })).container, "web");
    assert.equal(logQueryFromRequest(create(StreamDockerContainerLogsRequestSchema, { container: "/web" })).container, "web");
    assert.equal(eventFilterFromRequest(create(WatchDockerEventsRequestSchema, { container: "/web" })).container, "web");
  });

  it("refuse anything that could change the engine path", () => {
    for (const container of ["/", "//web", "web/json", "../web", "web?x", "a", "web%2F"]) {
      assert.ok("container" in violations(() => containerReferenceFromRequest({ container })), container);
    }
  });
});

describe("label selectors", () => {
  const selector = (entries: number, valueLength = 1) =>
    Object.fromEntries(Array.from({ length: entries }, (_, i) => [`k${i}`, "v".repeat(valueLength)]));

  it("are bounded in entries and bytes, with one violation however large", () => {
    for (const labelSelector of [selector(65), selector(200_000), selector(2, 20_000)]) {
      const list = violations(() => listQueryFromRequest(create(ListDockerContainersRequestSchema, { labelSelector })));
      assert.deepEqual(Object.keys(list), ["label_selector"]);
      const watch = violations(() => eventFilterFromRequest(create(WatchDockerEventsRequestSchema, { labelSelector })));
      assert.deepEqual(Object.keys(watch), ["label_selector"]);
    }
    assert.equal(Object.keys(listQueryFromRequest(create(ListDockerContainersRequestSchema, { labelSelector: selector(64, 500) })).labelSelector).length, 64);
  });
});

describe("repeated fields", () => {
  const watch = (types: EventType[]) => eventFilterFromRequest(create(WatchDockerEventsRequestSchema, { types }));
  const list = (states: ContainerState[]) => listQueryFromRequest(create(ListDockerContainersRequestSchema, { states }));

  it("answers INVALID_ARGUMENT naming `types` once for more event types than exist", () => {
    assert.deepEqual(Object.keys(violations(() => watch(Array<EventType>(1000).fill(EventType.OOM)))), ["types"]);
    assert.deepEqual(Object.keys(violations(() => watch(Array<EventType>(12).fill(EventType.OOM)))), ["types"]);
  });

  it("keeps each event type once, in the order first given", () => {
    const types = [EventType.OOM, EventType.DIED, EventType.OOM, EventType.DIED, EventType.OOM];
    assert.deepEqual(watch(types).types, ["oom", "died"]);
  });

  it("still names each unknown event type within the bound", () => {
    assert.deepEqual(Object.keys(violations(() => watch([EventType.OOM, 99 as EventType]))), ["types[1]"]);
  });

  it("answers INVALID_ARGUMENT naming `states` once for more states than exist, and keeps each state once", () => {
    assert.deepEqual(Object.keys(violations(() => list(Array<ContainerState>(1000).fill(ContainerState.EXITED)))), ["states"]);
    assert.deepEqual(list([ContainerState.EXITED, ContainerState.RUNNING, ContainerState.EXITED]).states, ["exited", "running"]);
    assert.deepEqual(Object.keys(violations(() => list([ContainerState.UNSPECIFIED]))), ["states[0]"]);
  });

  it("bounds mounts to 64, command and entrypoint to 4096, ports to 1024 and env to 4096, one violation each", () => {
    const mounts = Array.from({ length: 65 }, (_, i) => ({ type: MountType.TMPFS, target: `/t${i}` }));
    assert.equal(runSpecFromRequest(runRequest({ mounts: mounts.slice(0, 64) })).mounts.length, 64);
    const many = Array<string>(4097).fill("x");
    const ports = Array.from({ length: 1025 }, (_, i) => ({ containerPort: i + 1 }));
    const env = Object.fromEntries(Array.from({ length: 4097 }, (_, i) => [`K${i}=`, "v"]));
    assert.deepEqual(
      Object.keys(violations(() => runSpecFromRequest(runRequest({ mounts, command: many, entrypoint: many, ports, env })))).sort(),
      ["command", "entrypoint", "env", "mounts", "ports"],
    );
    assert.equal(runSpecFromRequest(runRequest({ command: many.slice(0, 4096) })).command.length, 4096);
  });

  it("bounds Run labels to 256 entries and 64 KiB of keys and values", () => {
    const labels = (entries: number, valueLength: number) =>
      Object.fromEntries(Array.from({ length: entries }, (_, i) => [`k${i}`, "v".repeat(valueLength)]));
    assert.deepEqual(Object.keys(violations(() => runSpecFromRequest(runRequest({ labels: labels(257, 1) })))), ["labels"]);
    assert.deepEqual(Object.keys(violations(() => runSpecFromRequest(runRequest({ labels: labels(2, 33 * 1024) })))), ["labels"]);
    assert.equal(Object.keys(runSpecFromRequest(runRequest({ labels: labels(4, 16 * 1024 - 8) })).labels).length, 4);
  });

  it("lists at most 100 violations, then says how many more there are", () => {
    const command = Array<string>(4000).fill("\0");
    const listed = Object.entries(violations(() => runSpecFromRequest(runRequest({ command }))));
    assert.equal(listed.length, Violations.maxListed + 1);
    assert.match(listed.at(-1)![1], /3900 more problems/);
  });
});

describe("decode failures", () => {
  const input = GetDockerContainerRequestSchema;

  it("are INVALID_ARGUMENT when the client's bytes are at fault", () => {
    const truncatedGzip = new ConnectError("decompression failed", Code.Internal, undefined, undefined, Object.assign(new Error("unexpected end of file"), { code: "Z_BUF_ERROR" }));
    for (const error of [
      new ConnectError("parse binary: premature EOF", Code.Internal),
      new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal),
      truncatedGzip,
    ]) {
      classifyDecodeFailure(error, input);
      assert.equal(error.code, Code.InvalidArgument, error.rawMessage);
      assert.match(error.message, /^\[invalid_argument\] /);
    }
  });

  it("stay INTERNAL when the server is at fault", () => {
    const oddZlib = new ConnectError("decompression failed", Code.Internal, undefined, undefined, Object.assign(new Error("out of memory"), { code: "Z_MEM_ERROR" }));
    for (const error of [
      new ConnectError("serialize binary: cannot encode field", Code.Internal),
      new ConnectError("internal error", Code.Internal),
      new ConnectError("Internal error; the server log has details", Code.Internal),
      oddZlib,
    ]) {
      classifyDecodeFailure(error, input);
      assert.equal(error.code, Code.Internal, error.rawMessage);
    }
  });

  it("name the JSON field, once however often they are classified", () => {
    const error = new ConnectError('cannot decode message osiris.docker.v1.GetDockerContainerRequest from JSON: key "containr" is unknown', Code.InvalidArgument);
    classifyDecodeFailure(error, input);
    classifyDecodeFailure(error, input);
    const fields = error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations);
    assert.deepEqual(fields.map((v) => [v.field, v.description]), [["containr", 'unknown field "containr" in osiris.docker.v1.GetDockerContainerRequest; did you mean "container"?']]);
  });

  it("leave INVALID_ARGUMENT from validation alone", () => {
    const error = new ConnectError("Invalid request: container: must not be empty", Code.InvalidArgument);
    classifyDecodeFailure(error, input);
    assert.deepEqual(error.details, []);
  });
});
