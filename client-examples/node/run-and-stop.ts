// Runs and stops a container over native gRPC (HTTP/2), the way a platform
// written in any gRPC language would, then removes it. The container it made is
// removed whatever happens after it started: a failed call, or Ctrl-C.
//
//   npx tsx client-examples/node/run-and-stop.ts [--url http://127.0.0.1:8080] [--image osiris-test/busybox:latest]
//     [--name NAME] [--label KEY=VALUE ...] [--stop-signal SIGTERM] [--token TOKEN]
import { parseArgs } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ContainerState, DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.OSIRIS_URL ?? "http://127.0.0.1:8080" },
    token: { type: "string", default: process.env.OSIRIS_TOKEN ?? "" },
    image: { type: "string", default: "osiris-test/busybox:latest" },
    name: { type: "string", default: `grpc-example-${process.pid}` },
    label: { type: "string", multiple: true, default: [] },
    "stop-signal": { type: "string", default: "SIGTERM" },
  },
});

// KEY=VALUE, or KEY alone for an empty value, as `docker run --label` takes them.
const labels = Object.fromEntries(values.label.map((label) => {
  const equals = label.indexOf("=");
  return equals < 0 ? [label, ""] : [label.slice(0, equals), label.slice(equals + 1)];
}));
const headers: Record<string, string> = values.token ? { authorization: `Bearer ${values.token}` } : {};
const client = createClient(DockerService, createGrpcTransport({ baseUrl: values.url }));
// Ctrl-C cancels the call in flight; the server then undoes a half-done run, and we remove a finished one below.
const interrupted = new AbortController();
process.once("SIGINT", () => interrupted.abort());
const options = (timeoutMs: number) => ({ headers, timeoutMs, signal: interrupted.signal });

let createdId: string | undefined;
let exitCode = 0;
try {
  const { container, warnings } = await client.runDockerContainer(
    {
      image: values.image,
      name: values.name,
      labels,
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
      env: { MODE: "example" },
    },
    options(60_000),
  );
  createdId = container?.id;
  console.log(`started ${container?.name} (${container?.id.slice(0, 12)}): ${ContainerState[container?.state ?? 0]}`);
  for (const warning of warnings) console.log(`engine warning: ${warning}`);

  const stopped = await client.stopDockerContainer(
    { container: createdId, timeoutSeconds: 5, signal: values["stop-signal"] },
    options(30_000),
  );
  console.log(`stopped ${stopped.container?.name}: ${ContainerState[stopped.container?.state ?? 0]}, exit code ${stopped.container?.exitCode}`);
} catch (error) {
  const rpcError = ConnectError.from(error);
  console.error(`failed: ${Code[rpcError.code]}: ${rpcError.rawMessage}`);
  exitCode = 1;
} finally {
  // By id, not name: when the run itself failed (say the name was taken), the container
  // with that name is someone else's.
  if (createdId !== undefined) {
    try {
      await client.removeDockerContainer({ container: createdId, force: true, ignoreNotFound: true }, { headers, timeoutMs: 30_000 });
      console.log(`removed ${values.name}`);
    } catch (error) {
      console.error(`could not remove ${createdId}: ${ConnectError.from(error).rawMessage}; remove it with \`docker rm -f ${createdId}\``);
      exitCode = 1;
    }
  }
}
process.exit(exitCode);
