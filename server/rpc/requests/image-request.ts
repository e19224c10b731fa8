import { parseImageReference, type ImageReference } from "../../containers/grammar/image-reference.js";
import type { RemoveDockerImageRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { Violations } from "./violations.js";

/** The image a RemoveDockerImage request names: a reference in Docker's grammar, or an image id. */
export function imageToRemoveFromRequest(request: RemoveDockerImageRequest): ImageReference {
  const violations = new Violations();
  const parsed = parseImageReference(request.image);
  if (!parsed.ok) violations.add("image", parsed.reason);
  violations.throwIfAny();
  return (parsed as { reference: ImageReference }).reference;
}
