// What a dashboard needs from Osiris, over gRPC-Web as browsers speak it.
// Free of DOM code so the same module runs in the page and in the tests.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";

export type OsirisClient = Client<typeof DockerService>;

export function createOsirisClient(baseUrl: string): OsirisClient {
  return createClient(DockerService, createGrpcWebTransport({ baseUrl }));
}
