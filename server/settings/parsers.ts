import { isIP } from "node:net";
import { InvalidValue } from "./setting.js";

/** Parsers turn one variable's text into a value, or throw InvalidValue saying what is wrong with it. */

export interface ListenAddress {
  host: string;
  port: number;
}

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new InvalidValue(`${JSON.stringify(value)} is not a positive integer`);
  return number;
}

/** Only "1" turns a switch on; anything else leaves it off. */
export function switchedOn(value: string): boolean {
  return value === "1";
}

/** "on" or "off", nothing else: a feature a typo must not turn off (or on) unnoticed. */
export function onOrOff(value: string): boolean {
  if (value !== "on" && value !== "off") throw new InvalidValue('must be "on" or "off"');
  return value === "on";
}

/** A file path or inline text, read or checked where the settings it belongs with are assembled. */
export function text(value: string): string {
  return value;
}

export function commaSeparated(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

const logLevels = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function logLevel(value: string): string {
  if (!logLevels.has(value)) throw new InvalidValue(`unknown level ${JSON.stringify(value)}`);
  return value;
}

export function scope(value: string): "managed" | "all" {
  if (value !== "managed" && value !== "all") throw new InvalidValue('must be "managed" or "all"');
  return value;
}

export function listenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) {
    throw new InvalidValue(`${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  }
  if (match?.[1] !== undefined && isIP(host) !== 6) throw new InvalidValue(`${JSON.stringify(host)} is not an IPv6 address`);
  return { host: host === "" ? "0.0.0.0" : host, port };
}

export function engineEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidValue(`${JSON.stringify(value)} is not a URL such as unix:///var/run/docker.sock`);
  }
  if (!["unix:", "tcp:", "http:"].includes(url.protocol)) {
    throw new InvalidValue(`scheme ${url.protocol} is not supported; use unix://, tcp:// or http://`);
  }
  return value;
}

export function ipAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidValue(`${JSON.stringify(value)} is not an IP address such as 127.0.0.1, ::1 or 0.0.0.0`);
  return value;
}

export function portRange(value: string): { min: number; max: number } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const [min, max] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || min < 1 || max > 65535 || min > max) throw new InvalidValue(`${JSON.stringify(value)} is not min-max within 1-65535`);
  return { min, max };
}

export function origins(value: string): string[] {
  const list = commaSeparated(value);
  for (const origin of list) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || url.origin !== origin) {
      throw new InvalidValue(`${JSON.stringify(origin)} is not an origin such as https://dashboard.example.com`);
    }
  }
  return list;
}

/** DNS names as a Host header carries them: lowercase, without a port or a trailing dot. */
export function hostNames(value: string): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim().toLowerCase().replace(/\.$/, ""))
    .filter((name) => name !== "");
  for (const name of names) {
    if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name)) {
      throw new InvalidValue(`${JSON.stringify(name)} is not a host name such as osiris.internal (no port, no scheme)`);
    }
  }
  return names;
}

export function absolutePaths(value: string): string[] {
  const paths = commaSeparated(value);
  for (const path of paths) {
    if (!path.startsWith("/")) throw new InvalidValue(`${JSON.stringify(path)} is not an absolute path`);
  }
  return paths;
}
