import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ImageInfo } from "../containers/containers.js";
import { DockerImageSchema, type DockerImage } from "../../gen/osiris/docker/v1/docker_management_pb.js";

export function imageMessage(image: ImageInfo): DockerImage {
  return create(DockerImageSchema, {
    id: image.id,
    tags: image.tags,
    repoDigests: image.digests,
    sizeBytes: BigInt(image.sizeBytes),
    createdAt: timestampFromDate(image.created),
    containers: image.containers,
  });
}
