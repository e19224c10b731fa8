import type { ContainerCreateBody, EngineMount } from "../engine/engine-client.js";
import { managedLabel } from "../grammar/labels.js";
import type { MountSpec, RunSpec } from "../run-spec.js";

/**
 * Capabilities every container loses, on top of the engine's default set.
 * Each one lets a container make something the host kernel honours outside
 * it: MKNOD a device node, SETFCAP a file capability (a setuid bit by another
 * name), NET_RAW forged packets to its neighbours on the bridge (ping still
 * works: engines since 20.10 open ICMP datagram sockets to every group).
 * SETUID and SETGID stay, or images that switch to their own user break.
 * The engine's default seccomp profile stays in force: Osiris never sets one.
 */
export const droppedCapabilities = ["MKNOD", "NET_RAW", "SETFCAP"] as const;

/** The body of `POST /containers/create` for a validated run request. */
export function createOptions(spec: RunSpec, runLabels: Record<string, string> = {}, pidsLimit = 4096): ContainerCreateBody {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposedPorts[key] = {};
    // An empty HostPort asks the engine for a free ephemeral port.
    portBindings[key] = [{ HostIp: port.hostIp, HostPort: port.hostPort === 0 ? "" : String(port.hostPort) }];
  }
  const options: ContainerCreateBody = {
    Image: spec.image.original,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels, ...runLabels, [managedLabel]: "true" },
    ExposedPorts: exposedPorts,
    HostConfig: {
      PortBindings: portBindings,
      AutoRemove: spec.autoRemove,
      Mounts: spec.mounts.map(mountSettings),
      SecurityOpt: ["no-new-privileges"],
      CapDrop: [...droppedCapabilities],
      // The host's process table is shared by every container: without a cap, one fork bomb fills it.
      PidsLimit: pidsLimit,
      RestartPolicy: {
        Name: spec.restartPolicy.mode === "no" ? "" : spec.restartPolicy.mode,
        MaximumRetryCount: spec.restartPolicy.maxRetryCount,
      },
    },
  };
  if (spec.name) options.name = spec.name;
  if (spec.command.length > 0) options.Cmd = spec.command;
  if (spec.entrypoint.length > 0) options.Entrypoint = spec.entrypoint;
  if (spec.workingDir) options.WorkingDir = spec.workingDir;
  if (spec.user) options.User = spec.user;
  if (spec.memoryBytes !== undefined) options.HostConfig.Memory = spec.memoryBytes;
  if (spec.nanoCpus !== undefined) options.HostConfig.NanoCpus = spec.nanoCpus;
  return options;
}

function mountSettings(mount: MountSpec): EngineMount {
  if (mount.type !== "bind") return { Type: mount.type, Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly };
  // Always read-only, and non-recursive: with a recursive bind, engines before
  // API 1.44 leave mounts below the source writable despite ReadOnly.
  const bindOptions = { Propagation: "rprivate", NonRecursive: true } as const;
  return { Type: "bind", Source: mount.source, Target: mount.target, ReadOnly: true, BindOptions: bindOptions };
}
