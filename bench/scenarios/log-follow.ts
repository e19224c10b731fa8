import { spawn } from "node:child_process";
import { benchImage, benchLabel, type BenchContext } from "../context.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

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
  const result = compareSides(
    "Log follow throughput, 200 MB of stdout (gRPC)",
    "docker logs -f",
    "MB/s",
    { a: megabytesPerSecond(samples.a), b: megabytesPerSecond(samples.b) },
    0.8,
  );
  result.met = result.met && osirisBytes === totalBytes && cliBytes === totalBytes;
  result.notes.push(`bytes received: Osiris ${osirisBytes}, docker logs ${cliBytes}`);
  return result;
}
