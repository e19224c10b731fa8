import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { EngineMonitor } from "../containers/engine/engine-monitor.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { DockerService } from "../../gen/osiris/docker/v1/docker_management_pb.js";
import { refusal } from "./errors.js";

/** The server as a whole ("") and DockerService both serve exactly while the engine answers. */
const servicesFollowingEngine = ["", DockerService.typeName];

/**
 * grpc.health.v1.Health. Watch streams the current status, then every change;
 * `shutdown` ends open watches with UNAVAILABLE when the server starts closing,
 * so clients move on instead of waiting out the grace period.
 */
export function healthHandlers(monitor: EngineMonitor, shutdown: AbortSignal): ServiceImpl<typeof Health> {
  const statusOf = (service: string) =>
    servicesFollowingEngine.includes(service)
      ? monitor.isReachable
        ? ServingStatus.SERVING
        : ServingStatus.NOT_SERVING
      : undefined;

  return {
    check(request) {
      const status = statusOf(request.service);
      if (status === undefined) throw refusal("unknown-service", `Unknown service: ${JSON.stringify(request.service)}`);
      return create(HealthCheckResponseSchema, { status });
    },

    list() {
      return create(HealthListResponseSchema, {
        statuses: Object.fromEntries(
          servicesFollowingEngine.map((service) => [service, create(HealthCheckResponseSchema, { status: statusOf(service) })]),
        ),
      });
    },

    async *watch(request, context) {
      const stop = AbortSignal.any([context.signal, shutdown]);
      let sent: ServingStatus | undefined;
      while (!stop.aborted) {
        const status = statusOf(request.service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== sent) {
          yield create(HealthCheckResponseSchema, { status });
          sent = status;
        }
        await monitor.nextChange(stop);
      }
      if (shutdown.aborted) {
        throw refusal("shutting-down", "Osiris is shutting down; watch again on another instance");
      }
    },
  };
}
