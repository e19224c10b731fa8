import { create, createRegistry, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** What a reflection request asks, in either version's generated type. */
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The answer without its version's type name; each handler creates its own message from it. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), answered from the
 * descriptors protoc-gen-es embedded in gen/, so `grpcurl` and `buf curl` need
 * no schema. Nothing is fetched from a schema registry.
 */
export class ReflectionCatalog {
  private readonly files = new Map<string, DescFile>();
  private readonly registry;

  constructor(private readonly services: DescService[]) {
    const visit = (file: DescFile) => {
      if (this.files.has(file.name)) return;
      this.files.set(file.name, file);
      file.dependencies.forEach(visit);
    };
    services.forEach((service) => visit(service.file));
    this.registry = createRegistry(...this.files.values());
  }

  answer(request: ReflectionRequest): ReflectionAnswer {
    const ask = request.messageRequest;
    switch (ask.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: this.services.map((service) => ({ name: service.typeName })) },
        };
      case "fileByFilename":
        return this.filesAnswer(this.files.get(ask.value), `file ${JSON.stringify(ask.value)}`);
      case "fileContainingSymbol":
        return this.filesAnswer(this.fileDefining(ask.value), `symbol ${JSON.stringify(ask.value)}`);
      case "allExtensionNumbersOfType":
        // None of the served types declares extension ranges.
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: ask.value, extensionNumber: [] } };
      case "fileContainingExtension":
        return notFound(`extension ${ask.value.extensionNumber} of ${JSON.stringify(ask.value.containingType)}`);
      default:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
    }
  }

  private fileDefining(symbol: string): DescFile | undefined {
    const found = this.registry.get(symbol);
    if (found) return found.file;
    // A method, "package.Service.Method", is defined in its service's file.
    const dot = symbol.lastIndexOf(".");
    const service = this.registry.getService(symbol.slice(0, dot));
    return service?.methods.some((method) => method.name === symbol.slice(dot + 1)) ? service.file : undefined;
  }

  /** The file first, then everything it imports, so a client can resolve every type. */
  private filesAnswer(file: DescFile | undefined, what: string): ReflectionAnswer {
    if (!file) return notFound(what);
    const ordered: DescFile[] = [];
    const visit = (current: DescFile) => {
      if (ordered.includes(current)) return;
      ordered.push(current);
      current.dependencies.forEach(visit);
    };
    visit(file);
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: ordered.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    };
  }
}

function notFound(what: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `Not found: ${what}` } };
}

export function reflectionV1Handlers(catalog: ReflectionCatalog): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: catalog.answer(request),
        });
      }
    },
  };
}

export function reflectionV1alphaHandlers(catalog: ReflectionCatalog): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: catalog.answer(request),
        });
      }
    },
  };
}
