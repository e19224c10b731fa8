import { benchImage, benchLabel, type BenchContext } from "../context.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, timed } from "../stats.js";

const burn = ["sh", "-c", "while :; do :; done"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One stats sample with a CPU %, through Osiris (StreamDockerContainerStats
 * one_shot) against the engine's own `GET /containers/{id}/stats?stream=false`,
 * which waits for two of its 1-second sampling cycles.
 *
 * Polled: a dashboard asking every few seconds, the case the one-shot path is
 * made for; Osiris compares one engine reading with its previous one. Cold:
 * the first call for a container, which Osiris answers from two readings.
 * Each call starts after a pause, so that neither side waits on the engine's
 * sampling cycle that the other side's call set going.
 */
export async function statsOneShot(context: BenchContext): Promise<ScenarioResult[]> {
  const client = context.client("grpc");
  const osirisOneShot = async (id: string) => {
    let cpu: number | undefined;
    for await (const message of client.streamDockerContainerStats({ containers: [id], oneShot: true })) {
      if (message.update.case === "stats") cpu = message.update.value.cpuPercent;
    }
    if (cpu === undefined) throw new Error("Osiris answered one_shot without a CPU %");
  };
  const engineNoStream = async (id: string) => {
    const sample = (await context.docker.getContainer(id).stats({ stream: false })) as { precpu_stats?: { system_cpu_usage?: number } };
    if (!sample.precpu_stats?.system_cpu_usage) throw new Error("the engine answered without precpu_stats");
  };
  const pause = 1_200;

  const { container } = await client.runDockerContainer({ image: benchImage, command: burn, labels: benchLabel });
  const polled = container!.id;
  await osirisOneShot(polled);
  const polls = await interleaved(
    context.full ? 30 : 10,
    async () => {
      await sleep(pause);
      return timed(() => osirisOneShot(polled));
    },
    async () => {
      await sleep(pause);
      return timed(() => engineNoStream(polled));
    },
  );
  const pollResult = compareSides("One-shot stats, polled every ~3 s (gRPC)", "engine stats?stream=false", "ms", polls, 0.2);
  pollResult.notes.push("target: Osiris at least 5× faster");

  const cold = await interleaved(
    context.full ? 10 : 4,
    async () => {
      const { container: fresh } = await client.runDockerContainer({ image: benchImage, command: burn, labels: benchLabel });
      await sleep(pause);
      return timed(() => osirisOneShot(fresh!.id));
    },
    async () => {
      const { container: fresh } = await client.runDockerContainer({ image: benchImage, command: burn, labels: benchLabel });
      await sleep(pause);
      return timed(() => engineNoStream(fresh!.id));
    },
    () => context.cleanup(),
  );
  const coldResult = compareSides("One-shot stats, first call for a container (gRPC)", "engine stats?stream=false", "ms", cold, 1);
  coldResult.notes.push("Osiris reads the engine twice, 150 ms apart; Docker 20.10 answers the second reading at its next 1-second cycle");
  await context.cleanup();
  return [pollResult, coldResult];
}
