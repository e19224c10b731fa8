import { benchImage, benchLabel, directRun, protocols, type BenchContext } from "../context.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

const idle = ["sleep", "3600"];

/** Run (create+start+inspect) and Stop t=0, per protocol, against dockerode doing the same. */
export async function runAndStop(context: BenchContext): Promise<ScenarioResult[]> {
  const pairs = context.full ? 60 : 15;
  const results: ScenarioResult[] = [];
  for (const protocol of protocols) {
    const client = context.client(protocol);
    const run = await interleaved(
      pairs,
      () => timed(() => client.runDockerContainer({ image: benchImage, command: idle, labels: benchLabel })),
      () => timed(() => directRun(context.docker, idle)),
      () => context.cleanup(),
    );
    results.push(compareSides(`Run over ${protocol}`, "dockerode create+start+inspect", "ms", run, 1.03));

    const stop = await interleaved(
      pairs,
      // Each side stops a container it ran itself, as its users would.
      async () => {
        const { container } = await client.runDockerContainer({ image: benchImage, command: idle, labels: benchLabel });
        return timed(() => client.stopDockerContainer({ container: container!.id, timeoutSeconds: 0 }));
      },
      async () => {
        const id = await directRun(context.docker, idle);
        const container = context.docker.getContainer(id);
        return timed(async () => {
          await container.stop({ t: 0 });
          await container.inspect();
        });
      },
      () => context.cleanup(),
    );
    results.push(compareSides(`Stop t=0 over ${protocol}`, "dockerode stop+inspect", "ms", stop, 1.05));
  }
  return results;
}
