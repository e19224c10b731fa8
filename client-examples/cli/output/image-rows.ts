import type { DockerImage } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { humanDuration, humanSize } from "./human-units.js";
import { goTimeString, timestampMs } from "./timestamps.js";

/** One name of an image as `docker images` shows it: an image with several names has several rows. */
export interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  Containers: string;
}

export const defaultImagesTable = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

export const imageHeaders: Record<keyof ImageRow, string> = {
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  ID: "IMAGE ID",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
};

export function imageRows(image: DockerImage, now: number, fullIds: boolean): ImageRow[] {
  const created = timestampMs(image.createdAt);
  const hex = image.id.replace(/^sha256:/, "");
  const base = {
    ID: fullIds ? image.id : hex.slice(0, 12),
    CreatedSince: created === undefined ? "N/A" : `${humanDuration(now - created)} ago`,
    CreatedAt: created === undefined ? "" : goTimeString(created),
    Size: humanSize(Number(image.sizeBytes)),
    Containers: String(image.containers.length),
  };
  const digestOf = (repository: string) =>
    image.repoDigests.find((digest) => digest.startsWith(`${repository}@`))?.slice(repository.length + 1) ?? "<none>";
  // An untagged (dangling) image is listed once, as docker does, with <none> names.
  if (image.tags.length === 0) return [{ Repository: "<none>", Tag: "<none>", Digest: image.repoDigests[0]?.split("@")[1] ?? "<none>", ...base }];
  return image.tags.map((tag) => ({ Repository: tag.repository, Tag: tag.tag, Digest: digestOf(tag.repository), ...base }));
}
