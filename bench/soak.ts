// npm run bench:soak [-- --minutes 10]
// Mixed load against one Osiris process for a fixed time, bounded in
// concurrency: Run, Get, logs, Stop, Remove cycles over the three protocols,
// with event watchers open throughout. Samples the server's open file
// descriptors and resident memory from /proc, and prints whether both came
// back to their baseline and whether anything was left on the engine.
import { createClient } from "@connectrpc/connect";
import { setMaxListeners } from "node:events";
import { DockerService } from "../gen/osiris/docker/v1/docker_management_pb.js";
import { openFiles } from "../test/support/process-stats.js";
import { benchImage, benchLabel, openContext, protocols, transport } from "./context.js";

const minutesArg = process.argv.indexOf("--minutes");
const minutes = minutesArg >= 0 ? Number(process.argv[minutesArg + 1]) : 10;
const workers = 12;
const watchers = 20;

const context = await openContext(false);
const pid = context.osiris.child.pid!;
const clients = Array.from({ length: workers }, (_, i) => createClient(DockerService, transport(protocols[i % 3]!, context.osiris.url)));

const samples: { minute: number; files: number; rssMb: number; cycles: number }[] = [];
const errors = new Map<string, number>();
let cycles = 0;
const started = Date.now();
const ends = started + minutes * 60_000;

const stopWatching = new AbortController();
// Every watcher listens on this one signal.
setMaxListeners(watchers + 10, stopWatching.signal);
let events = 0;
const watching = Array.from({ length: watchers }, async (_, i) => {
  try {
    for await (const _ of clients[i % workers]!.watchDockerEvents({ labelSelector: benchLabel }, { signal: stopWatching.signal })) events++;
  } catch {
    // Ends with the abort.
  }
});

await new Promise((resolve) => setTimeout(resolve, 2000));
const baseline = { files: openFiles(pid), rssMb: context.rssMegabytes() };
const sampler = setInterval(() => {
  samples.push({ minute: (Date.now() - started) / 60_000, files: openFiles(pid), rssMb: context.rssMegabytes(), cycles });
}, 30_000);

await Promise.all(
  clients.map(async (client) => {
    while (Date.now() < ends) {
      try {
        const { container } = await client.runDockerContainer({
          image: benchImage,
          command: ["sh", "-c", "echo started; exec sleep 60"],
          labels: benchLabel,
        });
        const id = container!.id;
        await client.getDockerContainer({ container: id });
        for await (const _ of client.streamDockerContainerLogs({ container: id })) {
          // Drain.
        }
        await client.stopDockerContainer({ container: id, timeoutSeconds: 0 });
        await client.removeDockerContainer({ container: id });
        cycles++;
      } catch (error) {
        const key = String((error as Error).message).slice(0, 120);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    }
  }),
);
clearInterval(sampler);
stopWatching.abort();
await Promise.all(watching);
const left = await context.docker.listContainers({ all: true, filters: { label: [`osiris-bench.run=${benchLabel["osiris-bench.run"]}`] } });
// Idle keep-alive connections close within seconds; wait that out before the final sample.
await new Promise((resolve) => setTimeout(resolve, 10_000));
const final = { files: openFiles(pid), rssMb: context.rssMegabytes() };
await context.cleanup();
await context.osiris.stop();

console.log(`soak: ${minutes} min, ${workers} clients over gRPC, gRPC-Web and Connect, ${watchers} watchers`);
console.log(`cycles (Run, Get, logs, Stop, Remove): ${cycles}; events delivered to watchers: ${events}`);
console.log(`errors: ${errors.size === 0 ? "none" : JSON.stringify(Object.fromEntries(errors))}`);
console.log(`containers left behind: ${left.length}`);
console.log("| minute | open files | RSS (MB) | cycles so far |\n|---|---|---|---|");
console.log(`| 0 (baseline) | ${baseline.files} | ${baseline.rssMb.toFixed(0)} | 0 |`);
for (const s of samples) console.log(`| ${s.minute.toFixed(1)} | ${s.files} | ${s.rssMb.toFixed(0)} | ${s.cycles} |`);
console.log(`| after (idle) | ${final.files} | ${final.rssMb.toFixed(0)} | ${cycles} |`);
const ok = errors.size === 0 && left.length === 0 && final.files <= baseline.files;
console.log(ok ? "soak: OK" : "soak: PROBLEMS (see above)");
process.exit(ok ? 0 : 1);
