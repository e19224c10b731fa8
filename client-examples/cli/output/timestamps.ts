import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** Milliseconds since the epoch of a proto Timestamp; undefined when unset. */
export function timestampMs(timestamp: Timestamp | undefined): number | undefined {
  if (timestamp === undefined || (timestamp.seconds === 0n && timestamp.nanos === 0)) return undefined;
  return Number(timestamp.seconds) * 1000 + Math.trunc(timestamp.nanos / 1e6);
}

function utcDateTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
}

/** RFC 3339 with all nine fraction digits, as `docker events` prints times. */
export function rfc3339NanoFixed(timestamp: Timestamp): string {
  return `${utcDateTime(timestamp.seconds)}.${String(timestamp.nanos).padStart(9, "0")}Z`;
}

/** RFC 3339 with trailing zeros of the fraction dropped, as `docker logs -t` prints times. */
export function rfc3339Nano(timestamp: Timestamp): string {
  const fraction = String(timestamp.nanos).padStart(9, "0").replace(/0+$/, "");
  return `${utcDateTime(timestamp.seconds)}${fraction === "" ? "" : `.${fraction}`}Z`;
}

/** Go's time.String() in UTC: `2026-11-29 02:10:00 +0000 UTC`, as `{{.CreatedAt}}` shows. */
export function goTimeString(milliseconds: number): string {
  return `${new Date(milliseconds).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}
