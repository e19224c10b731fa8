import type { RegistryCredentials } from "../../containers/run-spec.js";
import type { RegistryAuth } from "../../../gen/osiris/docker/v1/docker_management_pb.js";

/** Registry credentials of Run and Pull; absent fields stay absent, so the engine uses its own. */
export function registryCredentials(auth: RegistryAuth | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  return {
    username: auth.username || undefined,
    password: auth.password || undefined,
    identityToken: auth.identityToken || undefined,
    serverAddress: auth.serverAddress || undefined,
  };
}
