// Docker's image reference grammar (distribution/reference), the one place
// Osiris parses image names.

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|-+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6Address = "\\[[a-fA-F0-9:]+\\]";
const domain = `(?:${domainName}|${ipv6Address})(?::[0-9]+)?`;
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const referencePattern = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const imageIdPattern = /^(?:sha256:)?[0-9a-f]{64}$/;

const maxNameLength = 255;

export interface ImageReference {
  /** The reference exactly as the client wrote it. */
  original: string;
  /** Repository name including any registry host, e.g. `127.0.0.1:5000/team/app`. */
  repository: string;
  tag?: string;
  digest?: string;
  /** True when the reference is a local image id rather than a name. */
  isImageId: boolean;
}

export type ImageReferenceParse =
  | { ok: true; reference: ImageReference }
  | { ok: false; reason: string };

export function parseImageReference(input: string): ImageReferenceParse {
  if (input === "") return { ok: false, reason: "must not be empty" };
  if (imageIdPattern.test(input)) {
    return { ok: true, reference: { original: input, repository: input, isImageId: true } };
  }
  const match = referencePattern.exec(input);
  if (!match) {
    return {
      ok: false,
      reason:
        "is not a valid image reference; expected [registry/]repository[:tag][@digest] with a lowercase repository",
    };
  }
  const [, repository = "", tagPart, digestPart] = match;
  if (repository.length > maxNameLength) {
    return { ok: false, reason: `repository name is longer than ${maxNameLength} characters` };
  }
  return {
    ok: true,
    reference: { original: input, repository, tag: tagPart, digest: digestPart, isImageId: false },
  };
}

/** The name the engine resolves locally: an explicit tag or digest, or `:latest`. */
export function localImageName(reference: ImageReference): string {
  if (reference.isImageId) return reference.repository;
  if (reference.digest) return `${reference.repository}@${reference.digest}`;
  return `${reference.repository}:${reference.tag ?? "latest"}`;
}

/** What `POST /images/create` needs: the repository and a tag or digest to fetch. */
export function pullTarget(reference: ImageReference): { fromImage: string; tag: string } {
  return { fromImage: reference.repository, tag: reference.digest ?? reference.tag ?? "latest" };
}
