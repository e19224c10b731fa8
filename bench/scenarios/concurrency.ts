import { benchImage, benchLabel, directRun, type BenchContext } from "../context.js";
import type { ScenarioResult } from "../scenario.js";
import { interleaved, summarise, timed } from "../stats.js";
import { compare } from "./run-and-stop.js";

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
  const result = compare("32 concurrent Runs (batch wall time, gRPC)", "32 concurrent dockerode runs", samples, 1.05);
  result.met = result.met && errors === 0;
  result.target = "≤ 1.05, 0 errors";
  result.notes.push(`${errors} errors`);
  return result;
}

/** 20 containers that ignore SIGTERM, stopped at once with a 2 s grace: the wall time must be one grace, not twenty. */
export async function concurrentStops(context: BenchContext): Promise<ScenarioResult> {
  const client = context.client("grpc");
  const walls: number[] = [];
  for (let rep = 0; rep < (context.full ? 5 : 2); rep++) {
    const ids = await Promise.all(
      Array.from({ length: 20 }, () => directRun(context.docker, ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"])),
    );
    walls.push(await timed(() => Promise.all(ids.map((id) => client.stopDockerContainer({ container: id, timeoutSeconds: 2 })))));
    await context.cleanup();
  }
  const osiris = summarise(walls);
  const ratio = osiris.median / 2000;
  return {
    name: "20 SIGTERM-ignoring containers stopped at once, timeout 2 s",
    direct: "— (ratio is wall time / timeout)",
    unit: "ms",
    osiris,
    ratio,
    target: "≤ 1.2",
    met: ratio <= 1.2,
    notes: [],
  };
}
