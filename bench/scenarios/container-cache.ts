import { create, toBinary } from "@bufbuild/protobuf";
import { GetDockerContainerRequestSchema } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { eventually } from "../../test/support/engine-fixtures.js";
import { metric } from "../../test/support/server-metrics.js";
import { benchImage, benchLabel, directRun, type BenchContext } from "../context.js";
import { h2load } from "../load-generators.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

const managed = { ...benchLabel, "io.osiris.managed": "true" };
const idle = ["sleep", "3600"];

/** GetDockerContainer against Osiris's own trivial health Check: the protocol floor. Both h2load, 16 in flight. */
export async function getVersusFloor(context: BenchContext): Promise<ScenarioResult> {
  const { container } = await context.client("grpc").runDockerContainer({ image: benchImage, command: idle, labels: benchLabel });
  const get = toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, { container: container!.name }));
  const check = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }));
  const requests = context.full ? 20_000 : 5_000;
  let failures = 0;
  const rate = async (path: string, body: Uint8Array) => {
    const result = await h2load(`${context.osiris.url}${path}`, body, requests, 16);
    failures += result.failed;
    return result.requestsPerSecond;
  };
  const inspectsBefore = await engineInspects(context.osiris.url);
  const rates = await interleaved(
    context.full ? 5 : 3,
    () => rate("/osiris.docker.v1.DockerService/GetDockerContainer", get),
    () => rate("/grpc.health.v1.Health/Check", check),
  );
  const inspects = (await engineInspects(context.osiris.url)) - inspectsBefore;
  await context.cleanup();
  const result = compareSides("GetDockerContainer throughput, by name, 16 in flight (h2load)", "Osiris's health Check, same load", "req/s", rates, 0.9);
  result.met = result.met && failures === 0;
  result.notes.push(`${failures} failed requests`, `${inspects} engine inspects during ${rates.a.length * requests} Gets`);
  return result;
}

async function engineInspects(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^osiris_engine_call_duration_seconds_count\{operation="GET \/containers\/\{id\}\/json",outcome="\w+"\} (\S+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

/**
 * The full state of 1,000 containers (created, not running), as a dashboard
 * needs it: Osiris's List in pages, against the engine's list plus an inspect
 * each (what a dashboard must do today), and against the engine's list alone
 * (which lacks exit codes, health and times). Also Osiris's RSS with and
 * without those containers in its cache.
 */
export async function fullState(context: BenchContext): Promise<ScenarioResult[]> {
  const count = 1000;
  const rssEmpty = context.rssMegabytes();
  for (let i = 0; i < count; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, () => context.docker.createContainer({ Image: benchImage, Cmd: idle, Labels: managed })),
    );
  }
  await eventually(async () => (await metric(context.osiris.url, "osiris_container_cache_containers")) >= count, 60_000);
  const rssFull = context.rssMegabytes();
  const client = context.client("grpc");
  const osirisList = async () => {
    let token = "";
    let seen = 0;
    do {
      const page = await client.listDockerContainers({ all: true, labelSelector: benchLabel, pageSize: 500, pageToken: token });
      seen += page.containers.length;
      token = page.nextPageToken;
    } while (token !== "");
    if (seen !== count) throw new Error(`Osiris listed ${seen} of ${count}`);
  };
  const filters = { label: [`osiris-bench.run=${benchLabel["osiris-bench.run"]}`] };
  const engineListAndInspect = async () => {
    const listed = await context.docker.listContainers({ all: true, filters });
    let next = 0;
    const worker = async () => {
      while (next < listed.length) await context.docker.getContainer(listed[next++]!.Id).inspect();
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  };
  const engineList = () => context.docker.listContainers({ all: true, filters });
  const pairs = context.full ? 10 : 5;
  const inspectsBefore = await engineInspects(context.osiris.url);
  const withInspects = await interleaved(pairs, () => timed(osirisList), () => timed(engineListAndInspect));
  const listOnly = await interleaved(pairs, () => timed(osirisList), () => timed(engineList));
  const inspects = (await engineInspects(context.osiris.url)) - inspectsBefore;
  await context.cleanup();
  const results = [
    compareSides(`Full state of ${count} containers: Osiris List (pages of 500)`, "engine list + inspect each, 16 at once", "ms", withInspects, 0.1),
    compareSides(`Full state of ${count} containers: Osiris List (pages of 500)`, "engine /containers/json?all=1 alone (no exit codes, health, times)", "ms", listOnly, 1.0),
  ];
  results[0]!.notes.push(`${inspects} engine inspects by Osiris during ${pairs * 2} Lists`);
  const rss: ScenarioResult = {
    name: `Osiris RSS with ${count} cached containers`,
    direct: "the same process with an empty cache",
    unit: "MB",
    osiris: { samples: 1, median: rssFull, p90: rssFull, p99: rssFull },
    ratio: rssFull - rssEmpty,
    target: "≤ +50 MB",
    met: rssFull - rssEmpty <= 50,
    notes: [`RSS ${rssEmpty.toFixed(0)} MB empty, ${rssFull.toFixed(0)} MB with ${count} containers: +${(rssFull - rssEmpty).toFixed(1)} MB (the ratio column)`],
  };
  return [...results, rss];
}

/** Stop by name, t=0, against the engine's stop + inspect, as `docker stop` then `docker inspect` do. */
export async function stopByName(context: BenchContext): Promise<ScenarioResult> {
  const pairs = context.full ? 40 : 15;
  const client = context.client("grpc");
  let serial = 0;
  const stop = await interleaved(
    pairs,
    async () => {
      const name = `osiris-bench-stop-${process.pid}-${serial++}`;
      await client.runDockerContainer({ image: benchImage, name, command: idle, labels: benchLabel });
      // Let the start event's inspect pass, as it would long before a real Stop.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return timed(() => client.stopDockerContainer({ container: name, timeoutSeconds: 0 }));
    },
    async () => {
      const id = await directRun(context.docker, idle);
      const name = (await context.docker.getContainer(id).inspect()).Name.slice(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const container = context.docker.getContainer(name);
      return timed(async () => {
        await container.stop({ t: 0 });
        await container.inspect();
      });
    },
    () => context.cleanup(),
  );
  return compareSides("Stop by name, t=0", "engine stop + inspect by name (docker stop; docker inspect)", "ms", stop, 1.03);
}
