// Runs and stops a container over native gRPC (HTTP/2), the way a platform
// written in any gRPC language would.
//
//   npx tsx client-examples/node/run-and-stop.ts [--url http://127.0.0.1:8080] [--image osiris-test/busybox:latest]
import { parseArgs } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ContainerState, DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.OSIRIS_URL ?? "http://127.0.0.1:8080" },
    image: { type: "string", default: "osiris-test/busybox:latest" },
    name: { type: "string", default: `grpc-example-${process.pid}` },
  },
});

const client = createClient(DockerService, createGrpcTransport({ baseUrl: values.url }));

try {
  const { container, warnings } = await client.runDockerContainer(
    {
      image: values.image,
      name: values.name,
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
      env: { MODE: "example" },
    },
    { timeoutMs: 60_000 },
  );
  console.log(`started ${container?.name} (${container?.id.slice(0, 12)}): ${ContainerState[container?.state ?? 0]}`);
  for (const warning of warnings) console.log(`engine warning: ${warning}`);

  const stopped = await client.stopDockerContainer({ container: values.name, timeoutSeconds: 5 }, { timeoutMs: 30_000 });
  console.log(`stopped ${stopped.container?.name}: ${ContainerState[stopped.container?.state ?? 0]}, exit code ${stopped.container?.exitCode}`);
} catch (error) {
  const rpcError = ConnectError.from(error);
  console.error(`failed: ${Code[rpcError.code]}: ${rpcError.rawMessage}`);
  process.exit(1);
}
