import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { eventually, exitsOnSigint, newTestRun, testImage } from "../support/engine-fixtures.js";
import { ThrowawayEngine } from "../support/engine-control.js";
import { protocols, startTestServer, type TestServer } from "../support/test-server.js";

interface CallRecord {
  startedAt: number;
  endedAt: number;
  code: string;
  message?: string;
}

// Against a second, throwaway dockerd: stopping an engine under load can leave
// dead containers the kernel will not let go of, and those must not pile up in
// the main engine.
describe("engine outage and stall (on a throwaway dockerd)", () => {
  const run = newTestRun();
  const engine = new ThrowawayEngine();
  let server: TestServer;
  before(async () => {
    await engine.start();
    server = await startTestServer(engine.endpoint);
  });
  after(async () => {
    await server.close();
    await engine.destroy();
  });

  /** The server's overall health; a check that hangs fails at its 5 s deadline. */
  const servingStatus = async () =>
    (await createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl })).check({ service: "" }, { timeoutMs: 5_000 })).status;

  /** Calls every RPC after Run and Stop once, over gRPC-Web, with a 10 s deadline, and notes how each ended. */
  async function everyLifecycleRpc(): Promise<{ rpc: string; code: string; ms: number }[]> {
    const client = server.client("grpc-web");
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream) {
        // Nothing should arrive.
      }
    };
    const options = { timeoutMs: 10_000 };
    const calls: Record<string, () => Promise<unknown>> = {
      GetDockerContainer: () => client.getDockerContainer({ container: "osiris-outage-x" }, options),
      ListDockerContainers: () => client.listDockerContainers({}, options),
      StartDockerContainer: () => client.startDockerContainer({ container: "osiris-outage-x" }, options),
      RestartDockerContainer: () => client.restartDockerContainer({ container: "osiris-outage-x" }, options),
      RemoveDockerContainer: () => client.removeDockerContainer({ container: "osiris-outage-x" }, options),
      WaitDockerContainer: () => client.waitDockerContainer({ container: "osiris-outage-x" }, options),
      StreamDockerContainerLogs: () => drain(client.streamDockerContainerLogs({ container: "osiris-outage-x" }, options)),
      WatchDockerEvents: () => drain(client.watchDockerEvents({}, options)),
      PullDockerImage: () => drain(client.pullDockerImage({ image: "127.0.0.1:5999/osiris/outage:1" }, options)),
    };
    return Promise.all(
      Object.entries(calls).map(async ([rpc, call]) => {
        const started = Date.now();
        try {
          await call();
          return { rpc, code: "OK", ms: Date.now() - started };
        } catch (error) {
          return { rpc, code: Code[ConnectError.from(error).code], ms: Date.now() - started };
        }
      }),
    );
  }

  it("answers UNAVAILABLE within 2 s on every RPC while dockerd is down mid-load, goes NOT_SERVING, and serves again once it is back", async () => {
    const records: CallRecord[] = [];
    let running = true;
    // 6 clients over the three protocols, bounded in time (the loop ends with the test) and count.
    const workers = Array.from({ length: 6 }, async (_, worker) => {
      const client = server.client(protocols[worker % protocols.length]!);
      for (let i = 0; running && i < 400; i++) {
        const startedAt = Date.now();
        let code = "OK";
        let message: string | undefined;
        try {
          const { container } = await client.runDockerContainer(
            { image: testImage, command: exitsOnSigint(0), labels: run.labels },
            { timeoutMs: 20_000 },
          );
          await client.stopDockerContainer({ container: container!.id, timeoutSeconds: 0 }, { timeoutMs: 20_000 });
        } catch (error) {
          code = Code[ConnectError.from(error).code];
          message = ConnectError.from(error).rawMessage;
        }
        records.push({ startedAt, endedAt: Date.now(), code, message });
        if (code !== "OK") await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let outageFrom = 0;
    let outageTo = 0;
    let lifecycleDuringOutage: { rpc: string; code: string; ms: number }[] = [];
    try {
      await engine.stop();
      outageFrom = Date.now();
      assert.ok(await eventually(async () => (await servingStatus()) === Status.NOT_SERVING, 5000));
      lifecycleDuringOutage = await everyLifecycleRpc();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      outageTo = Date.now();
    } finally {
      await engine.start();
    }
    assert.ok(await eventually(async () => (await servingStatus()) === Status.SERVING, 10_000));
    const recoveredAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    running = false;
    await Promise.all(workers);

    // Every call that started while dockerd was down, however long it took: one that hung past the outage
    // ends at its 20 s deadline and must fail the checks below, not drop out of the sample.
    const during = records.filter((r) => r.startedAt >= outageFrom && r.startedAt < outageTo);
    const afterwards = records.filter((r) => r.startedAt >= recoveredAt);
    const tally = (rs: CallRecord[]) => JSON.stringify(rs.reduce<Record<string, number>>((t, r) => ({ ...t, [r.code]: (t[r.code] ?? 0) + 1 }), {}));
    console.log(`outage: ${records.length} calls; during the outage ${tally(during)}; after recovery ${tally(afterwards)}`);
    assert.ok(during.length > 0, "calls were made during the outage");
    assert.deepEqual(during.filter((r) => r.code !== "Unavailable"), [], "every call during the outage is UNAVAILABLE");
    assert.deepEqual(during.filter((r) => r.endedAt - r.startedAt >= 2000), [], "and answers within 2 s");
    assert.ok(afterwards.some((r) => r.code === "OK"), "calls succeed again without restarting Osiris");
    console.log(`lifecycle RPCs during the outage: ${JSON.stringify(lifecycleDuringOutage)}`);
    for (const call of lifecycleDuringOutage) {
      assert.equal(call.code, "Unavailable", `${call.rpc} during the outage`);
      assert.ok(call.ms < 2000, `${call.rpc} answers within 2 s (${call.ms} ms)`);
    }
    // Calls that straddle dockerd's shutdown may meet whatever the dying engine says; none may be UNKNOWN (a crash).
    assert.deepEqual(records.filter((r) => r.code === "Unknown"), [], "no call fails without a code");
    assert.deepEqual(records.filter((r) => r.code === "DeadlineExceeded"), [], "and none hangs until its deadline");
  });

  it("ends calls at their deadline while dockerd is frozen (SIGSTOP), and leaves nothing half-done after SIGCONT", async () => {
    const client = server.client("grpc");
    const calls: Promise<{ code: string; ms: number }>[] = [];
    const timed = (call: () => Promise<unknown>) =>
      (async () => {
        const started = Date.now();
        try {
          await call();
          return { code: "OK", ms: Date.now() - started };
        } catch (error) {
          return { code: Code[ConnectError.from(error).code], ms: Date.now() - started };
        }
      })();
    engine.pause();
    try {
      for (let i = 0; i < 4; i++) {
        calls.push(timed(() => client.runDockerContainer({ image: testImage, command: exitsOnSigint(0), labels: run.labels, name: run.name(`stalled-${i}`) }, { timeoutMs: 1000 })));
        calls.push(timed(() => client.stopDockerContainer({ container: run.name(`stalled-${i}`) }, { timeoutMs: 1000 })));
      }
      const results = await Promise.all(calls);
      console.log(`stalled engine: ${JSON.stringify(results)}`);
      for (const result of results) {
        assert.equal(result.code, "DeadlineExceeded");
        assert.ok(result.ms < 1800, `ended at the deadline, not later (${result.ms} ms)`);
      }
      assert.ok(await eventually(async () => (await servingStatus()) === Status.NOT_SERVING, 5000));
    } finally {
      engine.resume();
    }
    // Whatever the engine finishes after SIGCONT is rolled back.
    const clean = await eventually(async () => {
      const left = await engine.docker.listContainers({ all: true, filters: { name: [run.name("stalled-")] } });
      return left.length === 0;
    }, 30_000);
    assert.ok(clean, "no container of a timed-out run remains");
  });
});
