import { engineCall } from "../engine/engine-call.js";
import type { ContainerInspect, EngineClient } from "../engine/engine-client.js";
import { PolicyViolationError } from "../errors.js";
import { checkBindMounts } from "./bind-mounts.js";

/** The rule a refusal names. */
export const hostAccessRule = "CONTAINERS_WITHOUT_HOST_ACCESS";

/** SecurityOpt entries Osiris itself sets; any other (unconfined seccomp or AppArmor, label=disable, systempaths=unconfined, a custom profile) loosens confinement. */
const ownSecurityOptions = new Set(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]);

/**
 * Why a container's processes can reach the host, or undefined when they
 * cannot: the settings Osiris's own Runs can never set (privileged mode, added
 * capabilities, the host's or another container's namespaces, devices,
 * loosened confinement) and mounts a Run would refuse (writable binds).
 * Checked from the inspect alone, so a cached inspect answers it.
 */
export function hostAccessOf(inspect: ContainerInspect): string | undefined {
  const host = inspect.HostConfig;
  if (host.Privileged) return "is privileged";
  if (host.CapAdd && host.CapAdd.length > 0) return `adds capabilities (${host.CapAdd.join(", ")})`;
  const namespaces = { PidMode: "PID", NetworkMode: "network", IpcMode: "IPC", UTSMode: "UTS", UsernsMode: "user" } as const;
  for (const [setting, namespace] of Object.entries(namespaces) as [keyof typeof namespaces, string][]) {
    const mode = host[setting] ?? "";
    if (mode === "host") return `shares the host's ${namespace} namespace (${setting}=host)`;
    // Another container's namespace may be the host's in turn.
    if (mode.startsWith("container:")) return `shares another container's ${namespace} namespace (${setting}=${mode.slice(0, 80)})`;
  }
  if (host.Devices && host.Devices.length > 0) return "has host devices";
  if (host.DeviceCgroupRules && host.DeviceCgroupRules.length > 0) return "has device cgroup rules";
  const loosened = (host.SecurityOpt ?? []).find((option) => !ownSecurityOptions.has(option));
  if (loosened !== undefined) return `runs with the security option ${JSON.stringify(loosened.slice(0, 80))}`;
  const writableBind = inspect.Mounts.find((mount) => mount.Type === "bind" && mount.RW);
  if (writableBind) return `a writable bind mount of ${JSON.stringify(writableBind.Source)}`;
  return undefined;
}

/**
 * Refuses to exec into, start or restart a container that can reach the host:
 * an operator's token buys containers, never the host, whoever made the
 * container (OSIRIS_SCOPE=all shows containers Osiris never checked, and
 * anyone with the engine's socket can label one managed). Beyond hostAccessOf:
 * every bind must pass the checks a Run's would (OSIRIS_BIND_MOUNT_ALLOWLIST,
 * the deny-list, no symlinks), and every volume must be a plain local one (a
 * `local` volume with options such as `o=bind,device=/` is a host folder).
 */
export async function refuseHostAccess(
  engine: EngineClient,
  bindMountAllowlist: readonly string[],
  reference: string,
  action: "exec into" | "start" | "restart",
  inspect: ContainerInspect,
  signal: AbortSignal,
): Promise<void> {
  const refuse = (why: string) =>
    new PolicyViolationError(
      hostAccessRule,
      `container ${JSON.stringify(reference)} ${why}, which reaches the host; Osiris does not ${action} it. Run it through Osiris instead`,
    );
  const why = hostAccessOf(inspect);
  if (why !== undefined) throw refuse(why);
  for (const mount of inspect.Mounts) {
    if (mount.Type !== "volume" || mount.Name === undefined) continue;
    const name = mount.Name;
    const volume = await engineCall(engine, { kind: "inspect-volume", volume: name }, signal, () => engine.inspectVolume(name, signal));
    if (volume === undefined) continue;
    if (volume.Driver !== "local") throw refuse(`mounts the volume ${JSON.stringify(name)} of driver ${JSON.stringify(volume.Driver)}`);
    if (volume.Options && Object.keys(volume.Options).length > 0) {
      throw refuse(`mounts the volume ${JSON.stringify(name)}, whose driver options can point it anywhere on the host`);
    }
  }
  const mounts = inspect.Mounts.map((mount) => ({ type: mount.Type ?? "", source: mount.Source }));
  await checkBindMounts(mounts, bindMountAllowlist, engine, signal);
}
