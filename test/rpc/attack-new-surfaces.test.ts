// Fast checks of the refusals test/integration/attack-new-surfaces.test.ts proves against the real engine,
// for the cases this machine's engine cannot run (privileged containers) and for the cached path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cachedInspect } from "../../server/containers/cache/cached-inspect.js";
import type { ContainerInspect, EngineClient } from "../../server/containers/engine/engine-client.js";
import { PolicyViolationError } from "../../server/containers/errors.js";
import { hostAccessOf, refuseHostAccess } from "../../server/containers/policy/host-access.js";

/** An inspect as the engine gives it for a container Osiris ran: no host access at all. */
function inspectWith(hostConfig: Partial<ContainerInspect["HostConfig"]>, mounts: ContainerInspect["Mounts"] = []): ContainerInspect {
  return {
    Id: "a".repeat(64),
    Name: "/web",
    Image: `sha256:${"b".repeat(64)}`,
    Created: "2026-11-29T02:03:04.123456789Z",
    State: { Status: "running", Running: true },
    Config: { Labels: { "io.osiris.managed": "true" } },
    HostConfig: {
      AutoRemove: false,
      Privileged: false,
      CapAdd: null,
      PidMode: "",
      NetworkMode: "bridge",
      IpcMode: "private",
      UTSMode: "",
      UsernsMode: "",
      SecurityOpt: ["no-new-privileges"],
      Devices: [],
      DeviceCgroupRules: null,
      ...hostConfig,
    },
    Mounts: mounts,
  };
}

describe("which containers reach the host (exec, Start and Restart refuse them)", () => {
  it("finds nothing in a container as Osiris runs it", () => {
    assert.equal(hostAccessOf(inspectWith({})), undefined);
    assert.equal(hostAccessOf(inspectWith({ SecurityOpt: null, NetworkMode: "default", IpcMode: "shareable" })), undefined);
  });

  it("names each way to the host", () => {
    const cases: [Partial<ContainerInspect["HostConfig"]>, RegExp][] = [
      [{ Privileged: true }, /is privileged/],
      [{ CapAdd: ["CAP_SYS_ADMIN"] }, /adds capabilities \(CAP_SYS_ADMIN\)/],
      [{ PidMode: "host" }, /host's PID namespace/],
      [{ PidMode: "container:other" }, /another container's PID namespace/],
      [{ NetworkMode: "host" }, /host's network namespace/],
      [{ IpcMode: "host" }, /host's IPC namespace/],
      [{ UTSMode: "host" }, /host's UTS namespace/],
      [{ UsernsMode: "host" }, /host's user namespace/],
      [{ Devices: [{ PathOnHost: "/dev/sda" }] }, /host devices/],
      [{ DeviceCgroupRules: ["c 1:3 rwm"] }, /device cgroup rules/],
      [{ SecurityOpt: ["no-new-privileges", "apparmor=unconfined"] }, /apparmor=unconfined/],
      [{ SecurityOpt: ["label=disable"] }, /label=disable/],
      [{ SecurityOpt: ["systempaths=unconfined"] }, /systempaths=unconfined/],
    ];
    for (const [hostConfig, reason] of cases) assert.match(hostAccessOf(inspectWith(hostConfig)) ?? "", reason, JSON.stringify(hostConfig));
    assert.match(hostAccessOf(inspectWith({}, [{ Type: "bind", Source: "/", RW: true }])) ?? "", /writable bind mount of "\/"/);
  });

  it("refuses a privileged container with PERMISSION_DENIED's error before any engine call, naming the rule and the container", async () => {
    const engine = new Proxy({} as EngineClient, {
      get: () => () => assert.fail("no engine call for a refusal the inspect already decides"),
    });
    await assert.rejects(
      refuseHostAccess(engine, ["/srv"], "web", "exec into", inspectWith({ Privileged: true }), AbortSignal.timeout(5000)),
      (error: unknown) =>
        error instanceof PolicyViolationError &&
        /CONTAINERS_WITHOUT_HOST_ACCESS: container "web" is privileged, which reaches the host; Osiris does not exec into it/.test(error.message),
    );
  });

  it("refuses a local volume whose driver options point it at a host folder", async () => {
    const engine = {
      inspectVolume: async () => ({ Name: "v", Driver: "local", Labels: null, Options: { type: "none", o: "bind", device: "/" } }),
    } as unknown as EngineClient;
    const inspect = inspectWith({}, [{ Type: "volume", Name: "v", Source: "/var/lib/docker/volumes/v/_data", RW: false }]);
    await assert.rejects(refuseHostAccess(engine, [], "web", "start", inspect, AbortSignal.timeout(5000)), /driver options can point it anywhere/);
  });

  it("keeps every setting the check reads in the cache's copy, so a Get from memory is judged as a fresh inspect", () => {
    const inspect = inspectWith({ Privileged: true, CapAdd: ["SYS_ADMIN"], PidMode: "host", SecurityOpt: ["seccomp=unconfined"] });
    assert.deepEqual(cachedInspect(inspect).HostConfig, inspect.HostConfig);
    assert.equal(hostAccessOf(cachedInspect(inspect)), hostAccessOf(inspect));
  });
});

describe("the container cache after Osiris stalls (the engine drops events for a reader 100 ms behind)", () => {
  /** A cache over an engine with no containers, fed by hand as the event hub would feed it. */
  async function cacheWithCountedRelists() {
    const { ContainerCache } = await import("../../server/containers/cache/container-cache.js");
    let lists = 0;
    const engine = {
      endpoint: "unix:///fake.sock",
      listContainers: async () => {
        lists++;
        return [];
      },
    } as unknown as EngineClient;
    const cache = new ContainerCache(engine, { scope: "managed", resyncIntervalMs: 3_600_000, engineReachable: () => true });
    cache.start({ tap: () => undefined } as never);
    cache.connected();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 120));
    await settle();
    return { cache, lists: () => lists, settle };
  }

  /** Blocks the event loop, as a long collection or a starved CPU does. */
  function stall(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // Busy on purpose.
    }
  }

  it("relists when a stall is followed by a burst of events near the engine's queue size", async () => {
    const { cache, lists, settle } = await cacheWithCountedRelists();
    try {
      assert.equal(lists(), 1);
      stall(200);
      // What the engine queued meanwhile, read before the stall is noticed.
      for (let i = 0; i < 600; i++) cache.changed("a".repeat(64), "exec_create");
      await settle();
      assert.equal(lists(), 2);
    } finally {
      cache.stop();
    }
  });

  it("does not relist after a stall without such a burst, or a burst without a stall", async () => {
    const { cache, lists, settle } = await cacheWithCountedRelists();
    try {
      stall(200);
      for (let i = 0; i < 50; i++) cache.changed("a".repeat(64), "exec_create");
      // Past the second after the stall in which a burst counts.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      for (let i = 0; i < 600; i++) cache.changed("b".repeat(64), "exec_create");
      await settle();
      assert.equal(lists(), 1);
    } finally {
      cache.stop();
    }
  });
});
