import { engineCall } from "../engine/engine-call.js";
import type { ContainerSummary } from "../engine/engine-client.js";
import { listManaged, type EngineInScope } from "./container-lookup.js";

export interface ImageTag {
  /** Including any registry host, e.g. `127.0.0.1:5000/team/app`. */
  repository: string;
  tag: string;
}

/** A container that uses an image. */
export interface ImageUser {
  id: string;
  /** Without the engine's leading "/". */
  name: string;
}

export interface ImageInfo {
  /** `sha256:<64 hex>`. */
  id: string;
  tags: ImageTag[];
  /** `repository@sha256:...`, as the registries it came from name it. */
  digests: string[];
  /** Bytes, layers shared with other images included (as `docker images` shows). */
  sizeBytes: number;
  created: Date;
  /** The containers in the caller's scope that use it, in any state. */
  containers: ImageUser[];
}

/**
 * Every local image, like `docker images`, with the containers that use
 * each. Images are not scoped (Osiris labels containers, not images), but
 * the containers are: in the managed scope only managed containers are
 * named, so the list reveals nothing of containers callers may not see.
 * Newest first, ties broken by id.
 */
export async function listImages(target: EngineInScope, signal: AbortSignal): Promise<ImageInfo[]> {
  const { engine, scope } = target;
  const [images, containers] = await Promise.all([
    engineCall(engine, { kind: "list-images" }, signal, () => engine.listImages(signal)),
    scope === "managed"
      ? listManaged(engine, {}, signal)
      : engineCall(engine, { kind: "list-containers" }, signal, () => engine.listContainers({ all: true }, signal)),
  ]);
  const users = usersByImage(containers);
  return images
    .map((image) => ({
      id: image.Id,
      tags: (image.RepoTags ?? []).filter((name) => name !== "<none>:<none>").map(splitTag),
      digests: (image.RepoDigests ?? []).filter((digest) => !digest.startsWith("<none>@")),
      sizeBytes: image.Size,
      created: new Date(image.Created * 1000),
      containers: users.get(image.Id) ?? [],
    }))
    .sort((a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function usersByImage(containers: ContainerSummary[]): Map<string, ImageUser[]> {
  const users = new Map<string, ImageUser[]>();
  for (const container of containers) {
    if (!container.ImageID) continue;
    const list = users.get(container.ImageID) ?? [];
    list.push({ id: container.Id, name: (container.Names[0] ?? "").replace(/^\//, "") });
    users.set(container.ImageID, list);
  }
  return users;
}

/** `host:5000/app:1.0` -> `host:5000/app` and `1.0`: the tag follows the last ":" after the last "/". */
function splitTag(name: string): ImageTag {
  const colon = name.lastIndexOf(":");
  if (colon <= name.lastIndexOf("/")) return { repository: name, tag: "" };
  return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
}
