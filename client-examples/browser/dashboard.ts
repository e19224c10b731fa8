/// <reference lib="dom" />
import { ConnectError } from "@connectrpc/connect";
import { ContainerState, EventType, LogStream } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { createOsirisClient } from "./osiris-browser-client.js";

// ?osiris=http://host:port points the page at another Osiris.
const osirisUrl = new URLSearchParams(location.search).get("osiris") ?? "http://127.0.0.1:8080";
const client = createOsirisClient(osirisUrl);

const field = (id: string) => document.getElementById(id) as HTMLInputElement;
const log = document.getElementById("log") as HTMLPreElement;

function show(line: string): void {
  log.textContent = `${new Date().toLocaleTimeString()}  ${line}\n${log.textContent ?? ""}`;
}

async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const rpcError = ConnectError.from(error);
    show(`error ${rpcError.code}: ${rpcError.rawMessage}`);
  }
}

document.getElementById("run")!.addEventListener("click", () =>
  guarded(async () => {
    const { container } = await client.runDockerContainer({
      image: field("image").value,
      name: field("name").value,
      command: field("command").value.trim() === "" ? [] : ["sh", "-c", field("command").value],
      ports: field("port").value === "" ? [] : [{ containerPort: Number(field("port").value), hostIp: "127.0.0.1" }],
    });
    const ports = container?.ports.map((p) => `${p.containerPort} -> 127.0.0.1:${p.hostPort}`).join(", ");
    show(`started ${container?.name} ${ContainerState[container?.state ?? 0]} ${ports ?? ""}`);
  }),
);

document.getElementById("stop")!.addEventListener("click", () =>
  guarded(async () => {
    const { container, alreadyStopped } = await client.stopDockerContainer({
      container: field("name").value,
      timeoutSeconds: 2,
      ignoreAlreadyStopped: true,
    });
    show(`stopped ${container?.name} exit ${container?.exitCode}${alreadyStopped ? " (was not running)" : ""}`);
  }),
);

document.getElementById("list")!.addEventListener("click", () =>
  guarded(async () => {
    const { containers } = await client.listDockerContainers({ all: true, pageSize: 20 });
    for (const c of containers) show(`  ${c.name} ${ContainerState[c.state]} ${c.image}`);
    show(`${containers.length} managed container(s):`);
  }),
);

// Server streams over gRPC-Web: each one runs until its button is pressed again.
let following: AbortController | undefined;
document.getElementById("logs")!.addEventListener("click", () => {
  if (following) return following.abort();
  following = new AbortController();
  const decoder = new TextDecoder();
  void guarded(async () => {
    const logs = client.streamDockerContainerLogs({ container: field("name").value, follow: true, tailLines: 20 }, { signal: following!.signal });
    for await (const chunk of logs) show(`[${LogStream[chunk.stream]}] ${decoder.decode(chunk.data).trimEnd()}`);
    show("log stream ended");
  }).finally(() => (following = undefined));
});

let watching: AbortController | undefined;
document.getElementById("events")!.addEventListener("click", () => {
  if (watching) return watching.abort();
  watching = new AbortController();
  void guarded(async () => {
    for await (const event of client.watchDockerEvents({}, { signal: watching!.signal })) {
      show(`event ${EventType[event.type]} ${event.containerName}${event.type === EventType.DIED ? ` exit ${event.exitCode}` : ""}`);
    }
  }).finally(() => (watching = undefined));
});

show(`talking gRPC-Web to ${osirisUrl}`);
