import type { ContainerInspect } from "../engine/engine-client.js";

/**
 * The parts of an inspect Osiris reads, copied out of the engine's answer.
 * The engine's JSON is 5 to 10 KB a container (GraphDriver, the full
 * HostConfig, network endpoints...); keeping only what ContainerInspect
 * declares brings a cached container down to its labels plus a few hundred bytes.
 */
export function cachedInspect(inspect: ContainerInspect): ContainerInspect {
  const { State: state, Config: config, HostConfig: hostConfig } = inspect;
  return {
    Id: inspect.Id,
    Name: inspect.Name,
    Image: inspect.Image,
    Created: inspect.Created,
    RestartCount: inspect.RestartCount,
    State: {
      Status: state.Status,
      Running: state.Running,
      ExitCode: state.ExitCode,
      OOMKilled: state.OOMKilled,
      Error: state.Error || undefined,
      StartedAt: state.StartedAt,
      FinishedAt: state.FinishedAt,
      Health: state.Health?.Status === undefined ? undefined : { Status: state.Health.Status },
    },
    Config: {
      Image: config.Image,
      Labels: config.Labels ?? null,
      Tty: config.Tty,
      StopTimeout: config.StopTimeout,
    },
    HostConfig: { AutoRemove: hostConfig.AutoRemove, ...hostAccessSettings(hostConfig) },
    Mounts: (inspect.Mounts ?? []).map(({ Type, Source, RW, Name, Driver }) => ({ Type, Source, RW, Name, Driver })),
    NetworkSettings: { Ports: portsOf(inspect) },
  };
}

/**
 * The settings exec, Start and Restart check before touching a container
 * (policy/host-access.ts). Fixed at create (`docker update` changes none), so
 * a cached copy is exact; the engine sends empty ones as null or "", which
 * cost nothing to keep.
 */
function hostAccessSettings(hostConfig: ContainerInspect["HostConfig"]): Omit<ContainerInspect["HostConfig"], "AutoRemove"> {
  const { Privileged, CapAdd, PidMode, NetworkMode, IpcMode, UTSMode, UsernsMode, SecurityOpt, Devices, DeviceCgroupRules } = hostConfig;
  return { Privileged, CapAdd, PidMode, NetworkMode, IpcMode, UTSMode, UsernsMode, SecurityOpt, Devices, DeviceCgroupRules };
}

function portsOf(inspect: ContainerInspect): NonNullable<ContainerInspect["NetworkSettings"]>["Ports"] {
  const ports = inspect.NetworkSettings?.Ports;
  if (!ports) return undefined;
  const copy: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const [key, bindings] of Object.entries(ports)) {
    copy[key] = bindings?.map(({ HostIp, HostPort }) => ({ HostIp, HostPort })) ?? null;
  }
  return copy;
}

/** The engine's creation time in whole unix seconds, as `GET /containers/json` gives it, so list cursors mean the same either way. */
export function createdSeconds(inspect: ContainerInspect): number {
  // "2026-11-29T02:03:04.123456789Z": the seconds part is all a cursor holds.
  return Math.floor(Date.parse(`${inspect.Created.slice(0, 19)}Z`) / 1000) || 0;
}
