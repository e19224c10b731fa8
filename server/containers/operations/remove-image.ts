import { engineCall } from "../engine/engine-call.js";
import { ImageInUseError, PolicyViolationError } from "../errors.js";
import { localImageName, parseImageReference, type ImageReference } from "../grammar/image-reference.js";
import { managedLabel } from "../grammar/labels.js";
import { checkImageAllowed, type RunPolicy } from "../policy/run-policy.js";
import type { EngineInScope } from "./container-lookup.js";

export interface RemoveImageResult {
  /** The `repository:tag` names removed. */
  untagged: string[];
  /** The image and layer ids deleted; empty when the image keeps other names, or (a name removed with force) a container still uses it. */
  deleted: string[];
}

/**
 * Removes an image, like `docker rmi`: a name removes that name, and the
 * image itself once nothing else names or uses it; an id removes the image
 * with all its names (with `force` when it has names in several repositories).
 *
 * OSIRIS_ALLOWED_IMAGES, when set, bounds what may be removed as it bounds
 * what may be run: the name's repository, or for an id every repository the
 * image is named in (an image without names matches no pattern).
 * In the managed scope, an image that a container outside the scope uses is
 * refused whatever `force` says, without naming that container.
 */
export async function removeImage(
  target: EngineInScope,
  policy: RunPolicy,
  reference: ImageReference,
  force: boolean,
  signal: AbortSignal,
): Promise<RemoveImageResult> {
  const { engine, scope } = target;
  const image = reference.original;
  const name = localImageName(reference);
  if (!reference.isImageId) checkImageAllowed(reference, policy);
  const inspected = await engineCall(engine, { kind: "inspect-image", image }, signal, () => engine.inspectImage(name, signal));
  if (reference.isImageId && policy.allowedImages.length > 0) {
    const repositories = (inspected.RepoTags ?? []).flatMap((tag) => {
      const parsed = parseImageReference(tag);
      return parsed.ok ? [parsed.reference] : [];
    });
    if (repositories.length === 0) {
      throw new PolicyViolationError("OSIRIS_ALLOWED_IMAGES", `image ${JSON.stringify(image)} has no repository name for the allowlist to match`);
    }
    for (const repository of repositories) checkImageAllowed(repository, policy);
  }
  if (scope === "managed") {
    const containers = await engineCall(engine, { kind: "list-containers" }, signal, () => engine.listContainers({ all: true }, signal));
    if (containers.some((container) => container.ImageID === inspected.Id && container.Labels[managedLabel] !== "true")) {
      throw new ImageInUseError(image, "a container Osiris does not manage uses it, and force cannot override that");
    }
  }
  const items = await engineCall(engine, { kind: "remove-image", image }, signal, () => engine.removeImage(name, { force }, signal));
  return {
    untagged: items.flatMap((item) => (item.Untagged ? [item.Untagged] : [])),
    deleted: items.flatMap((item) => (item.Deleted ? [item.Deleted] : [])),
  };
}
