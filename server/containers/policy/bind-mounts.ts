import { lstat, opendir, realpath } from "node:fs/promises";
import type { Stats } from "node:fs";
import path from "node:path";
import { engineCall } from "../engine/engine-call.js";
import type { EngineClient } from "../engine/engine-client.js";
import { PolicyViolationError } from "../errors.js";

/**
 * Host paths no OSIRIS_BIND_MOUNT_ALLOWLIST entry can open: a container that
 * reads them owns the host (runtime state and sockets, kernel interfaces,
 * devices, boot files, host configuration). A source is refused when it is,
 * lies inside, or contains one of them, so `/` and `/run` are refused too. A
 * trailing `*` matches any name starting with what precedes it: `/run/docker*`
 * covers /run/docker.sock and /run/docker/. The engine's own data root
 * (DockerRootDir: volumes, container layers) is added at Run time.
 */
export const deniedHostPaths: readonly string[] = [
  "/run/docker*",
  "/var/run/docker*",
  "/run/containerd",
  "/var/run/containerd",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/proc",
  "/sys",
  "/dev",
  "/boot",
  "/etc",
];

/**
 * How many entries under a bind source are examined for sockets and device
 * nodes. Past this the source is refused: a check that gave up cannot vouch.
 */
export const maxEntriesExamined = 10_000;

const denyRule = "HOST_PATH_DENY_LIST";
const allowlistRule = "OSIRIS_BIND_MOUNT_ALLOWLIST";

/** What the engine says about the host, read once per Run that has bind mounts. */
interface HostFacts {
  denied: readonly string[];
  /** Host paths some existing container can write: the source of every read-write mount. */
  writableByContainers: string[];
}

/**
 * Refuses every bind mount that could hand a container the host. The engine
 * resolves a source again at each start and restart, so the check must hold
 * for the container's whole life, not just now. It does against containers
 * because every bind Osiris makes is read-only and non-recursive, and no source
 * may lie where a container can write: nothing a container does can swap a
 * source later. Someone on the host can, so Start and Restart check again;
 * the engine's own restart policy restarts without asking Osiris.
 * A path Osiris cannot stat is refused: see `invisible`.
 */
export async function checkBindMounts(
  /** Run's MountSpecs, or an inspected container's Mounts (type in the engine's words: "bind", "volume", ...). */
  mounts: readonly { type: string; source: string }[],
  allowlist: readonly string[],
  engine: EngineClient,
  signal: AbortSignal,
): Promise<void> {
  const binds = mounts.flatMap((mount, index) => (mount.type === "bind" ? [{ mount, field: `mounts[${index}].source` }] : []));
  if (binds.length === 0) return;
  const facts = await hostFacts(engine, signal);
  for (const { mount, field } of binds) {
    await checkBindMount(mount, field, allowlist.map((folder) => path.posix.normalize(folder)), facts);
  }
}

async function checkBindMount(mount: { source: string }, field: string, allowlist: string[], facts: HostFacts): Promise<void> {
  const named = `${field} ${JSON.stringify(mount.source)}`;
  const lexical = path.posix.normalize(mount.source);
  checkHostPath(named, lexical, lexical, allowlist, facts);
  const root = closestAllowedFolder(lexical, allowlist)!;
  // Stats every component from the allowed folder down: one Osiris cannot see is refused here.
  const symlink = await firstSymlink(root, lexical, named);
  if (symlink !== undefined) {
    throw new PolicyViolationError(
      allowlistRule,
      `${named} passes through the symlink ${JSON.stringify(symlink)}; bind mounts never follow symlinks, name the real folder`,
    );
  }
  const resolved = await resolvedPath(lexical, named);
  if (resolved !== lexical) checkHostPath(named, resolved, lexical, allowlist, facts);
  const problem = await specialFileProblem(resolved, named);
  if (problem !== undefined) throw new PolicyViolationError(denyRule, `${named} ${problem}`);
}

function checkHostPath(named: string, candidate: string, lexical: string, allowlist: string[], facts: HostFacts): void {
  const denied = facts.denied.find((entry) => touchesDeniedPath(candidate, entry));
  if (denied !== undefined) {
    throw new PolicyViolationError(denyRule, `${named} ${via(candidate, lexical)}is, is inside or contains ${denied}, which no allowlist can open`);
  }
  if (!allowlist.some((folder) => isSameOrInside(candidate, folder))) {
    throw new PolicyViolationError(allowlistRule, `${named} ${via(candidate, lexical)}is not under an allowed host folder`);
  }
  const writable = facts.writableByContainers.find((hostPath) => isSameOrInside(candidate, hostPath));
  if (writable !== undefined) {
    throw new PolicyViolationError(
      denyRule,
      `${named} ${via(candidate, lexical)}is inside ${writable}, which a container can write, so it could swap the source for a symlink; bind a folder no container writes`,
    );
  }
}

/**
 * Osiris checks a source in its own filesystem, the engine mounts it from the
 * engine's host. When the two differ (Osiris in a container with only the
 * engine's socket, or DOCKER_HOST=tcp://) a path Osiris cannot see may be
 * anything on the engine's host, a socket or a symlink to `/`: refused.
 */
function invisible(named: string, hostPath: string, error: unknown): PolicyViolationError {
  const code = (error as NodeJS.ErrnoException).code ?? String(error);
  return new PolicyViolationError(
    allowlistRule,
    `${named} cannot be examined by Osiris (${code} on ${JSON.stringify(hostPath)}); the source must exist, and the allowlist folders must be visible to Osiris at the same path as on the engine's host`,
  );
}

/** The allowlist folders Osiris cannot see; every bind under them is refused (see `invisible`). */
export async function invisibleAllowlistFolders(allowlist: readonly string[]): Promise<string[]> {
  const visible = await Promise.all(allowlist.map((folder) => lstat(folder).then(() => true, () => false)));
  return allowlist.filter((_, index) => !visible[index]);
}

async function hostFacts(engine: EngineClient, signal: AbortSignal): Promise<HostFacts> {
  const [info, containers] = await Promise.all([
    engineCall(engine, { kind: "read-info" }, signal, () => engine.info(signal)),
    engineCall(engine, { kind: "list-containers" }, signal, () => engine.listContainers({ all: true }, signal)),
  ]);
  const dataRoot = info.DockerRootDir;
  return {
    denied: dataRoot ? [...deniedHostPaths, path.posix.normalize(dataRoot)] : deniedHostPaths,
    writableByContainers: containers.flatMap((container) =>
      (container.Mounts ?? []).filter((mount) => mount.RW && mount.Source.startsWith("/")).map((mount) => path.posix.normalize(mount.Source)),
    ),
  };
}

function via(candidate: string, lexical: string): string {
  return candidate === lexical ? "" : `(resolving to ${JSON.stringify(candidate)}) `;
}

/** Is `candidate` a denied path, inside one, or an ancestor of one? */
function touchesDeniedPath(candidate: string, entry: string): boolean {
  if (!entry.endsWith("*")) return isSameOrInside(candidate, entry) || isSameOrInside(entry, candidate);
  const prefix = entry.slice(0, -1);
  const parent = path.posix.dirname(prefix);
  if (isSameOrInside(parent, candidate)) return true;
  if (!isSameOrInside(candidate, parent)) return false;
  const firstName = path.posix.relative(parent, candidate).split("/")[0] ?? "";
  return firstName.startsWith(path.posix.basename(prefix));
}

/** The engine follows symlinks when it mounts; so do we, to check where a source really leads. */
async function resolvedPath(hostPath: string, named: string): Promise<string> {
  try {
    return await realpath(hostPath);
  } catch (error) {
    throw invisible(named, hostPath, error);
  }
}

function closestAllowedFolder(source: string, allowlist: string[]): string | undefined {
  const containing = allowlist.filter((folder) => isSameOrInside(source, folder));
  return containing.sort((a, b) => b.length - a.length)[0];
}

/**
 * The first symlink among the allowed folder itself and every component below
 * it down to the source. A source reached through a symlink could be redirected
 * by whoever can rewrite that link, so none is accepted.
 */
async function firstSymlink(root: string, source: string, named: string): Promise<string | undefined> {
  const relative = path.posix.relative(root, source);
  const components = relative === "" ? [] : relative.split("/");
  let current = root;
  for (const component of ["", ...components]) {
    current = component === "" ? root : path.posix.join(current, component);
    let stats: Stats;
    try {
      stats = await lstat(current);
    } catch (error) {
      throw invisible(named, current, error);
    }
    if (stats.isSymbolicLink()) return current;
  }
  return undefined;
}

/**
 * Any unix socket or device node at or under the source. A socket is a door to
 * a process, often a root one (docker.sock, containerd.sock, podman.sock under
 * any name), and a read-only mount does not stop connect(); binds are for
 * data, so every socket is refused rather than guessing which are runtimes'.
 * Symlinks are not followed: inside the container they resolve in its own
 * filesystem, not the host's.
 */
async function specialFileProblem(source: string, named: string): Promise<string | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(source);
  } catch (error) {
    throw invisible(named, source, error);
  }
  const own = specialKind(stats);
  if (own) return `is a ${own}; sockets and device nodes are never bind-mounted`;
  if (!stats.isDirectory()) return undefined;
  const pending = [source];
  let examined = 0;
  while (pending.length > 0) {
    const folder = pending.pop()!;
    let entries;
    try {
      entries = await opendir(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") continue;
      return `holds ${JSON.stringify(folder)}, which Osiris cannot read (${code}) to check for sockets; bind a folder Osiris can read`;
    }
    for await (const entry of entries) {
      examined += 1;
      if (examined > maxEntriesExamined) {
        return `holds more than ${maxEntriesExamined} entries, too many to check for sockets and device nodes; bind a narrower folder`;
      }
      const full = path.posix.join(folder, entry.name);
      const kind = specialKind(entry);
      if (kind) return `contains the ${kind} ${JSON.stringify(full)}; sockets and device nodes are never bind-mounted`;
      if (entry.isDirectory()) pending.push(full);
    }
  }
  return undefined;
}

function specialKind(entry: { isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string | undefined {
  if (entry.isSocket()) return "unix socket";
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return "device node";
  return undefined;
}

/** Segment-wise: /srv/data contains /srv/data/x but not /srv/database. */
export function isSameOrInside(child: string, parent: string): boolean {
  const relative = path.posix.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.posix.isAbsolute(relative));
}
