// docker prints durations and sizes through github.com/docker/go-units;
// these match its HumanDuration and HumanSize so the output reads the same.

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.trunc(milliseconds / 1000);
  const minutes = Math.trunc(milliseconds / 60_000);
  const hours = Math.trunc(milliseconds / 3_600_000 + 0.5);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(milliseconds / 3_600_000 / 24 / 365)} years`;
}

const decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

function scaled(size: number, base: number, units: string[]): string {
  let unit = 0;
  while (size >= base && unit < units.length - 1) {
    size /= base;
    unit++;
  }
  // Go's "%.4g": four significant digits, trailing zeros dropped.
  return `${Number(size.toPrecision(4))}${units[unit]}`;
}

/** go-units HumanSize: decimal units, as `docker pull` and `docker images` show sizes. */
export function humanSize(bytes: number): string {
  return scaled(bytes, 1000, decimalUnits);
}

/** go-units BytesSize: binary units, as `docker stats` shows memory. */
export function binarySize(bytes: number): string {
  return scaled(bytes, 1024, binaryUnits);
}
