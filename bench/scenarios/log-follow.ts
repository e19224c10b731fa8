import { spawn } from "node:child_process";
import { benchImage, benchLabel, type BenchContext } from "../context.js";
import type { ScenarioResult } from "../scenario.js";
import { interleaved, medianPairRatio, summarise, timed } from "../stats.js";

const totalBytes = 200_000_000;

/** Following 200 MB of stdout through Osiris against `docker logs -f` on the same container. */
export async function logFollow(context: BenchContext): Promise<ScenarioResult> {
  // 1000-byte lines until 200 MB are written; it exits, so both followers read everything and end.
  const line = "a".repeat(999);
  const { container } = await context.client("grpc").runDockerContainer({
    image: benchImage,
    command: ["sh", "-c", `yes ${line} | head -c ${totalBytes}`],
    labels: benchLabel,
  });
  const id = container!.id;
  await context.client("grpc").waitDockerContainer({ container: id });
  let osirisBytes = 0;
  let cliBytes = 0;
  const samples = await interleaved(
    context.full ? 4 : 2,
    () =>
      timed(async () => {
        osirisBytes = 0;
        for await (const chunk of context.client("grpc").streamDockerContainerLogs({ container: id, follow: true })) {
          osirisBytes += chunk.data.length;
        }
      }),
    () =>
      timed(
        () =>
          new Promise<void>((resolve, reject) => {
            cliBytes = 0;
            const cli = spawn("docker", ["logs", "-f", id], { stdio: ["ignore", "pipe", "ignore"] });
            cli.stdout.on("data", (chunk: Buffer) => (cliBytes += chunk.length));
            cli.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker logs exited with ${code}`))));
          }),
      ),
  );
  await context.cleanup();
  const megabytesPerSecond = (ms: number[]) => ms.map((value) => totalBytes / 1e6 / (value / 1000));
  const osiris = summarise(megabytesPerSecond(samples.a));
  const directSummary = summarise(megabytesPerSecond(samples.b));
  const ratio = osiris.median / directSummary.median;
  return {
    name: "Log follow throughput, 200 MB of stdout (gRPC)",
    direct: "docker logs -f",
    unit: "MB/s",
    osiris,
    directSummary,
    ratio,
    pairRatio: medianPairRatio(samples.b, samples.a),
    target: "≥ 0.80",
    met: ratio >= 0.8 && osirisBytes === totalBytes && cliBytes === totalBytes,
    notes: [`bytes received: Osiris ${osirisBytes}, docker logs ${cliBytes}`],
  };
}
