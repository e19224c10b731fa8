import { benchImage, benchLabel, directRun, type BenchContext } from "../context.js";
import { compareSides, type ScenarioResult } from "../scenario.js";
import { interleaved, medianPairRatio, summarise, timed } from "../stats.js";

/** 32 Runs at once, wall time of the batch, against 32 concurrent dockerode runs. */
export async function concurrentRuns(context: BenchContext): Promise<ScenarioResult> {
  const batch = 32;
  let errors = 0;
  const client = context.client("grpc");
  const samples = await interleaved(
    context.full ? 8 : 3,
    () =>
      timed(() =>
        Promise.all(
          Array.from({ length: batch }, () =>
            client.runDockerContainer({ image: benchImage, command: ["sleep", "3600"], labels: benchLabel }).catch(() => errors++),
          ),
        ),
      ),
    () => timed(() => Promise.all(Array.from({ length: batch }, () => directRun(context.docker, ["sleep", "3600"])))),
    () => context.cleanup(),
  );
  const result = compareSides("32 concurrent Runs (batch wall time, gRPC)", "32 concurrent dockerode runs", "ms", samples, 1.05);
  result.met = result.met && errors === 0;
  result.target = "≤ 1.05, 0 errors";
  result.notes.push(`${errors} errors`);
  return result;
}

/**
 * 20 containers that ignore SIGTERM, stopped at once with a 2 s grace: the
 * wall time must be one grace, not twenty. dockerode doing the same shows what
 * the engine itself needs for it.
 */
export async function concurrentStops(context: BenchContext): Promise<ScenarioResult> {
  const client = context.client("grpc");
  const stubborn = () =>
    Promise.all(Array.from({ length: 20 }, () => directRun(context.docker, ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"])));
  const walls = await interleaved(
    context.full ? 5 : 2,
    async () => {
      const ids = await stubborn();
      return timed(() => Promise.all(ids.map((id) => client.stopDockerContainer({ container: id, timeoutSeconds: 2 }))));
    },
    async () => {
      const ids = await stubborn();
      return timed(() => Promise.all(ids.map((id) => context.docker.getContainer(id).stop({ t: 2 }))));
    },
    () => context.cleanup(),
  );
  const osiris = summarise(walls.a);
  const ratio = osiris.median / 2000;
  return {
    name: "20 SIGTERM-ignoring containers stopped at once, timeout 2 s",
    direct: "20 concurrent dockerode stops (for reference; ratio is Osiris wall time / timeout)",
    unit: "ms",
    osiris,
    directSummary: summarise(walls.b),
    ratio,
    pairRatio: medianPairRatio(walls.a, walls.b),
    target: "≤ 1.2",
    met: ratio <= 1.2,
    notes: [`the engine alone needs ${(summarise(walls.b).median / 2000).toFixed(2)}× the timeout for the same 20 stops`],
  };
}
