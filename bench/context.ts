import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import Docker from "dockerode";
import { DockerService } from "../gen/osiris/docker/v1/docker_management_pb.js";
import { residentMegabytes } from "../test/support/process-stats.js";
import { startServerProcess, type ServerProcess } from "../test/support/server-process.js";

export const benchImage = "osiris-test/busybox:latest";
export type Protocol = "grpc" | "grpc-web" | "connect-json";
export const protocols: Protocol[] = ["grpc", "grpc-web", "connect-json"];

/** Every container the bench makes carries this label, so cleanup finds them all. */
export const benchLabel = { "osiris-bench.run": String(process.pid) };

export interface BenchContext {
  full: boolean;
  osiris: ServerProcess;
  docker: Docker;
  client(protocol: Protocol): Client<typeof DockerService>;
  /** Force-removes every container the bench made. */
  cleanup(): Promise<void>;
  rssMegabytes(): number;
}

export function transport(protocol: Protocol, baseUrl: string): Transport {
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
    case "connect-json":
      return createConnectTransport({ baseUrl, httpVersion: "1.1" });
  }
}

export async function openContext(full: boolean): Promise<BenchContext> {
  // Osiris as users run it: its own process, default settings except the
  // limits a single benchmarking principal would hit.
  const osiris = await startServerProcess({
    OSIRIS_RATE_LIMIT: "1000000",
    OSIRIS_MAX_STREAMS_PER_PRINCIPAL: "5000",
  });
  const docker = new Docker({ socketPath: "/var/run/docker.sock" });
  const clients = new Map(protocols.map((p) => [p, createClient(DockerService, transport(p, osiris.url))]));
  return {
    full,
    osiris,
    docker,
    client: (protocol) => clients.get(protocol)!,
    async cleanup() {
      const left = await docker.listContainers({ all: true, filters: { label: [`osiris-bench.run=${benchLabel["osiris-bench.run"]}`] } });
      for (let i = 0; i < left.length; i += 16) {
        await Promise.all(left.slice(i, i + 16).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      }
    },
    rssMegabytes: () => residentMegabytes(osiris.child.pid!),
  };
}

/** dockerode's create + start + inspect: what a program calling the engine directly does for a run. */
export async function directRun(docker: Docker, cmd: string[]): Promise<string> {
  // Labelled as Osiris labels its own, so Osiris may also stop what this made.
  const container = await docker.createContainer({ Image: benchImage, Cmd: cmd, Labels: { ...benchLabel, "io.osiris.managed": "true" } });
  await container.start();
  await container.inspect();
  return container.id;
}
