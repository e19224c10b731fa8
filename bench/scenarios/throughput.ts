import { spawn } from "node:child_process";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetDockerContainerRequestSchema } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { freePort } from "../../test/support/server-process.js";
import { benchImage, benchLabel, type BenchContext } from "../context.js";
import { autocannonUnix, h2load } from "../load-generators.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved } from "../stats.js";

/** Throughput compares rates: the ratio is Osiris's rate over the alternative's. */
function compareRates(name: string, direct: string, rates: { a: number[]; b: number[] }, target: number, failures: number): ScenarioResult {
  const result = compareSides(name, direct, "req/s", rates, target);
  result.met = result.met && failures === 0;
  result.notes.push(`${failures} failed requests`);
  return result;
}

/** GetDockerContainer at 16 in flight over HTTP/2 (h2load) against the engine's inspect at 16 in flight (autocannon). */
export async function getThroughput(context: BenchContext): Promise<ScenarioResult> {
  const { container } = await context.client("grpc").runDockerContainer({ image: benchImage, command: ["sleep", "3600"], labels: benchLabel });
  const id = container!.id;
  const requests = context.full ? 20_000 : 5_000;
  let failures = 0;
  const body = toBinary(GetDockerContainerRequestSchema, create(GetDockerContainerRequestSchema, { container: id }));
  const rates = await interleaved(
    context.full ? 5 : 3,
    async () => {
      const result = await h2load(`${context.osiris.url}/osiris.docker.v1.DockerService/GetDockerContainer`, body, requests, 16);
      failures += result.failed;
      return result.requestsPerSecond;
    },
    async () => {
      const result = await autocannonUnix("/var/run/docker.sock", `/containers/${id}/json`, requests, 16);
      failures += result.failed;
      return result.requestsPerSecond;
    },
  );
  await context.cleanup();
  return compareRates("GetDockerContainer throughput, 16 in flight, HTTP/2 (h2load)", "engine inspect, 16 in flight (autocannon)", rates, 0.8, failures);
}

/** A health Check through Osiris's Fastify host against the same handler on the bare Connect adapter. */
export async function protocolFloor(context: BenchContext): Promise<ScenarioResult> {
  const port = await freePort();
  const bare = spawn(process.execPath, ["--import", "tsx", "bench/bare-health-server.ts", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    bare.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("listening") && resolve());
    bare.once("exit", (code) => reject(new Error(`bare health server exited with ${code}`)));
  });
  try {
    const body = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }));
    const requests = context.full ? 50_000 : 20_000;
    let failures = 0;
    const run = async (url: string) => {
      const result = await h2load(`${url}/grpc.health.v1.Health/Check`, body, requests, 32);
      failures += result.failed;
      return result.requestsPerSecond;
    };
    const rates = await interleaved(context.full ? 6 : 3, () => run(context.osiris.url), () => run(`http://127.0.0.1:${port}`));
    return compareRates("Protocol floor: health Check throughput, Fastify host", "bare connectNodeAdapter on http2.createServer", rates, 0.9, failures);
  } finally {
    bare.kill("SIGTERM");
  }
}
