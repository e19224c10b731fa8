import { engineCall } from "../engine/engine-call.js";
import type { EngineClient, VolumeInfo } from "../engine/engine-client.js";
import { VolumeNotOwnedError } from "../errors.js";
import { managedLabel } from "../grammar/labels.js";
import type { MountSpec } from "../run-spec.js";

/**
 * Makes sure every named volume a Run mounts belongs to Osiris, creating the
 * ones that do not exist yet. Osiris owns a volume it created: driver `local`,
 * no driver options, labelled io.osiris.managed=true. Anything else may be
 * another program's data, or (with options such as `o=bind,device=/path`)
 * a host folder in disguise, so it is refused whatever OSIRIS_SCOPE says.
 *
 * Runs before the container is created. A volume made here stays when the Run
 * then fails: it is empty, owned, and a retry reuses it, whereas removing it
 * could pull it from under a concurrent Run that claimed the same name.
 */
export async function claimVolumes(engine: EngineClient, mounts: readonly MountSpec[], signal: AbortSignal): Promise<void> {
  for (const [index, mount] of mounts.entries()) {
    if (mount.type === "volume") await claimVolume(engine, mount.source, `mounts[${index}].source`, signal);
  }
}

async function claimVolume(engine: EngineClient, name: string, field: string, signal: AbortSignal): Promise<void> {
  // The engine's create is idempotent: for an existing name it answers with
  // that volume, unchanged. So two Runs creating one new volume both get the
  // labelled volume, and a name taken by someone else is caught just below.
  const volume =
    (await engineCall(engine, { kind: "inspect-volume", volume: name }, signal, () => engine.inspectVolume(name, signal))) ??
    (await createManagedVolume(engine, name, signal));
  const refusal = ownershipProblem(volume);
  if (refusal) throw new VolumeNotOwnedError(name, field, refusal);
  const users = await engineCall(engine, { kind: "list-containers" }, signal, () =>
    engine.listContainers({ all: true, filters: { volume: [name] } }, signal),
  );
  if (users.some((container) => container.Labels?.[managedLabel] !== "true")) {
    throw new VolumeNotOwnedError(name, field, "is used by a container Osiris does not manage");
  }
}

function ownershipProblem(volume: VolumeInfo): string | undefined {
  if (volume.Labels?.[managedLabel] !== "true") return `was not created by Osiris (it has no ${managedLabel}=true label)`;
  if (volume.Driver !== "local") return `uses the volume driver ${JSON.stringify(volume.Driver)}; only "local" is mounted`;
  if (volume.Options && Object.keys(volume.Options).length > 0) {
    return `has driver options (${Object.keys(volume.Options).sort().join(", ")}), which can point it anywhere on the host`;
  }
  return undefined;
}

function createManagedVolume(engine: EngineClient, name: string, signal: AbortSignal): Promise<VolumeInfo> {
  const body = { Name: name, Driver: "local", Labels: { [managedLabel]: "true" } };
  return engineCall(engine, { kind: "create-volume", volume: name }, signal, () => engine.createVolume(body, signal));
}
