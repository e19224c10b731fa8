import { parseImageReference, type ImageReference } from "../../containers/grammar/image-reference.js";
import { Violations } from "./violations.js";

/** The image a Pull names: any reference except a bare image id, which names nothing to pull. */
export function imageToPullFromRequest(request: { image: string }): ImageReference {
  const violations = new Violations();
  const parsed = parseImageReference(request.image);
  if (!parsed.ok) violations.add("image", parsed.reason);
  else if (parsed.reference.isImageId) violations.add("image", "an image id cannot be pulled; name a repository");
  violations.throwIfAny();
  return (parsed as { reference: ImageReference }).reference;
}
