import type { ExecSpec } from "../../containers/containers.js";
import { execOutputHardMaxBytes, execStdinMaxBytes } from "../../containers/operations/exec-in-container.js";
import { execMarkerVariable } from "../../containers/operations/exec-process-kill.js";
import type { ExecDockerContainerRequest } from "../../../gen/osiris/docker/v1/docker_management_pb.js";
import { checkedContainerReference } from "./container-reference.js";
import { checkEnv, checkStrings, checkUser, checkWorkingDir } from "./run-request.js";
import { Violations } from "./violations.js";

/** An exec request as the container service takes it; env, user and working_dir follow Run's rules. */
export function execSpecFromRequest(request: ExecDockerContainerRequest): ExecSpec {
  const violations = new Violations();
  const container = checkedContainerReference(request.container, violations);
  if (request.command.length === 0) violations.add("command", "must name the program to run, e.g. [\"sh\", \"-c\", \"...\"]");
  checkStrings("command", request.command, violations);
  checkEnv(request.env, violations);
  if (Object.hasOwn(request.env, execMarkerVariable)) {
    violations.add(`env[${JSON.stringify(execMarkerVariable)}]`, "is reserved: Osiris sets it to find the process when it must kill it");
  }
  checkUser(request.user, violations);
  checkWorkingDir(request.workingDir, violations);
  if (request.stdin.length > execStdinMaxBytes) {
    violations.add("stdin", `has ${request.stdin.length} bytes; at most ${execStdinMaxBytes} (1 MiB)`);
  }
  if (request.maxOutputBytes > execOutputHardMaxBytes) {
    violations.add("max_output_bytes", `must be at most ${execOutputHardMaxBytes} (8 MiB); 0 means the server's default`);
  }
  violations.throwIfAny();
  return {
    container,
    command: [...request.command],
    env: { ...request.env },
    user: request.user || undefined,
    workingDir: request.workingDir || undefined,
    stdin: Buffer.from(request.stdin.buffer, request.stdin.byteOffset, request.stdin.byteLength),
    maxOutputBytes: request.maxOutputBytes || undefined,
  };
}
