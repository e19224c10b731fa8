/// <reference lib="dom" />
import { ConnectError } from "@connectrpc/connect";
import { ContainerState } from "../../gen/osiris/docker/v1/docker_management_pb.js";
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

show(`talking gRPC-Web to ${osirisUrl}`);
