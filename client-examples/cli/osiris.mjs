#!/usr/bin/env node
// The `osiris` command (package.json "bin"). Plain JavaScript so that npm can
// link it as is; it registers tsx and hands over to the TypeScript entry.
import { register } from "tsx/esm/api";

register();
const { runCli, processIo } = await import("./main.ts");
const code = await runCli(process.argv.slice(2), processIo());
// Streams and HTTP/2 sessions may keep the event loop alive; the command is done.
process.stdout.write("", () => process.exit(code));
