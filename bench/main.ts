// npm run bench [-- --full] [-- --only <name,...>]
// Runs each scenario with Osiris and the direct alternative interleaved, prints
// the table and writes bench/results/latest.{json,md}. Ratios, not absolute
// times, are what to compare across machines.
import { openContext } from "./context.js";
import { describeMachine, writeResults } from "./report.js";
import type { ScenarioResult } from "./scenario.js";
import { concurrentRuns, concurrentStops } from "./scenarios/concurrency.js";
import { fullState, getVersusFloor, stopByName } from "./scenarios/container-cache.js";
import { execRoundTrip } from "./scenarios/exec.js";
import { logFollow } from "./scenarios/log-follow.js";
import { runAndStop } from "./scenarios/run-and-stop.js";
import { statsOneShot } from "./scenarios/stats.js";
import { getThroughput, protocolFloor } from "./scenarios/throughput.js";
import { thousandWatchers } from "./scenarios/watchers.js";

const scenarios: Record<string, (context: Awaited<ReturnType<typeof openContext>>) => Promise<ScenarioResult | ScenarioResult[]>> = {
  "run-stop": runAndStop,
  "concurrent-runs": concurrentRuns,
  "concurrent-stops": concurrentStops,
  "get-throughput": getThroughput,
  "protocol-floor": protocolFloor,
  "get-vs-floor": getVersusFloor,
  "full-state": fullState,
  "stop-by-name": stopByName,
  "log-follow": logFollow,
  watchers: thousandWatchers,
  exec: execRoundTrip,
  stats: statsOneShot,
};

const args = process.argv.slice(2);
const full = args.includes("--full");
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? "").split(",") : Object.keys(scenarios);
const unknown = only.filter((name) => !(name in scenarios));
if (unknown.length > 0) {
  console.error(`unknown scenario(s) ${unknown.join(", ")}; choose from ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}

const context = await openContext(full);
const results: ScenarioResult[] = [];
try {
  for (const name of only) {
    const started = Date.now();
    process.stderr.write(`[bench] ${name}...`);
    const result = await scenarios[name]!(context);
    results.push(...(Array.isArray(result) ? result : [result]));
    process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
} finally {
  await context.cleanup();
  await context.osiris.stop();
}
console.log(writeResults(results, describeMachine(), full ? "full" : "quick"));
