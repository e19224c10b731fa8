import type Docker from "dockerode";
import { benchImage, benchLabel, protocols, type BenchContext } from "../context.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

/**
 * What `docker exec <container> true` asks of the engine, over its socket:
 * exec create, exec start (hijacked, output read to its end), exec inspect
 * for the exit code. Without the CLI's process start, which is not the engine's cost.
 */
async function directExec(container: Docker.Container): Promise<void> {
  const exec = await container.exec({ Cmd: ["true"], AttachStdout: true, AttachStderr: true });
  const connection = (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream & { destroy(): void };
  await new Promise<void>((resolve, reject) => {
    connection.on("data", () => {});
    connection.on("end", resolve);
    connection.on("error", reject);
    connection.end();
  });
  connection.destroy();
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`direct exec of true exited ${ExitCode}`);
}

/** ExecDockerContainer of `true`, round trip, per protocol, against the engine's own exec calls. */
export async function execRoundTrip(context: BenchContext): Promise<ScenarioResult[]> {
  const pairs = context.full ? 100 : 30;
  const { container } = await context.client("grpc").runDockerContainer({ image: benchImage, command: ["sleep", "3600"], labels: benchLabel });
  const target = container!.id;
  const direct = context.docker.getContainer(target);
  const results: ScenarioResult[] = [];
  try {
    for (const protocol of protocols) {
      const client = context.client(protocol);
      const osirisExec = async () => {
        const result = await client.execDockerContainer({ container: target, command: ["true"] });
        if (result.exitCode !== 0) throw new Error(`exec of true over ${protocol} exited ${result.exitCode}`);
      };
      // Warm both paths (connections, the container's lookup) before measuring.
      for (let i = 0; i < 3; i++) await Promise.all([osirisExec(), directExec(direct)]);
      const samples = await interleaved(
        pairs,
        () => timed(osirisExec),
        () => timed(() => directExec(direct)),
      );
      results.push(compareSides(`Exec of true over ${protocol}`, "engine exec create+start+inspect", "ms", samples, 1.05));
    }
  } finally {
    await context.cleanup();
  }
  return results;
}
