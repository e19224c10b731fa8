import type { ContainerCreateOptions } from "dockerode";
import { managedLabel } from "./labels.js";
import type { RunSpec } from "./run-spec.js";

/** The body of `POST /containers/create` for a validated run request. */
export function createOptions(spec: RunSpec, runLabels: Record<string, string> = {}): ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposedPorts[key] = {};
    // An empty HostPort asks the engine for a free ephemeral port.
    portBindings[key] = [{ HostIp: port.hostIp, HostPort: port.hostPort === 0 ? "" : String(port.hostPort) }];
  }
  const options: ContainerCreateOptions = {
    Image: spec.image.original,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...spec.labels, ...runLabels, [managedLabel]: "true" },
    ExposedPorts: exposedPorts,
    HostConfig: {
      PortBindings: portBindings,
      AutoRemove: spec.autoRemove,
      Mounts: spec.mounts.map((mount) => ({
        Type: mount.type,
        Source: mount.source,
        Target: mount.target,
        ReadOnly: mount.readOnly,
      })),
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
  if (spec.memoryBytes !== undefined) options.HostConfig!.Memory = spec.memoryBytes;
  if (spec.nanoCpus !== undefined) options.HostConfig!.NanoCpus = spec.nanoCpus;
  return options;
}
