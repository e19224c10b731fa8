// What the run form's text fields mean, in docker's notation. Free of DOM code so tests can use it.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Protocol, PullPolicy, type PortMappingSchema } from "../../../gen/osiris/docker/v1/docker_management_pb.js";

export class FormError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** `KEY=VALUE` per line (blank lines and `#` comments skipped); a line without `=` is an error naming it. */
export function parseAssignments(text: string, field: string): Record<string, string> {
  const result: Record<string, string> = {};
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const equals = line.indexOf("=");
    if (equals <= 0) throw new FormError(field, `line ${index + 1}: write KEY=VALUE, got ${JSON.stringify(line)}`);
    result[line.slice(0, equals)] = line.slice(equals + 1);
  });
  return result;
}

/**
 * docker's `-p` notation, comma- or space-separated: `80`, `8080:80`,
 * `127.0.0.1:8080:80`, `[::1]:8080:80`, with `/udp` or `/sctp` after.
 */
export function parsePorts(text: string): MessageInitShape<typeof PortMappingSchema>[] {
  return text
    .split(/[\s,]+/)
    .filter((item) => item !== "")
    .map((item) => {
      const match = /^(?:(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):)?(?:(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(item);
      if (!match) throw new FormError("ports", `${JSON.stringify(item)} is not [IP:]HOST:CONTAINER[/udp], e.g. 8080:80`);
      const [, ipv6, ipv4, host, container, protocol] = match;
      const port: MessageInitShape<typeof PortMappingSchema> = {
        containerPort: Number(container),
        hostPort: host === undefined ? 0 : Number(host),
        hostIp: ipv6 ?? ipv4 ?? "",
        protocol: protocol?.toLowerCase() === "udp" ? Protocol.UDP : protocol?.toLowerCase() === "sctp" ? Protocol.SCTP : Protocol.TCP,
      };
      return port;
    });
}

/** Splits a command line as a shell would split words: quotes group, backslash escapes; nothing is expanded. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index++) {
    const character = text[index]!;
    if (quote) {
      if (character === quote) quote = undefined;
      else if (character === "\\" && quote === '"' && index + 1 < text.length) word += text[++index];
      else word += character;
    } else if (character === '"' || character === "'") {
      quote = character;
      inWord = true;
    } else if (character === "\\" && index + 1 < text.length) {
      word += text[++index];
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += character;
      inWord = true;
    }
  }
  if (quote) throw new FormError("command", `unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

export const pullPolicies: Record<string, PullPolicy> = {
  missing: PullPolicy.IF_NOT_PRESENT,
  always: PullPolicy.ALWAYS,
  never: PullPolicy.NEVER,
};
