"""Osiris from Python over native gRPC (grpcio): checks health, runs a container,
follows its logs, stops it while following, reads the field violations of a bad
request, and removes what it made, even when a step fails.

    bash client-examples/python/generate.sh            # the stubs, from proto/
    /usr/bin/python3 client-examples/python/osiris_client.py [--url http://127.0.0.1:8080]

On Debian the imports come from python3-grpcio and python3-protobuf, which belong
to the system's /usr/bin/python3; elsewhere `pip install grpcio protobuf`.
OSIRIS_URL and OSIRIS_TOKEN are read when --url and --token are not given.
"""

import argparse
import os
import sys
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import grpc
except ImportError:
    sys.exit("grpcio is missing: on Debian `apt-get install python3-grpcio python3-protobuf` and run with "
             "/usr/bin/python3; elsewhere `pip install grpcio protobuf`")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("OSIRIS_URL", "http://127.0.0.1:8080"),
                        help="where Osiris listens; http:// is plaintext HTTP/2 (h2c), https:// is TLS")
    parser.add_argument("--token", default=os.environ.get("OSIRIS_TOKEN", ""),
                        help="bearer token, when the server requires one")
    parser.add_argument("--image", default="osiris-test/busybox:latest")
    parser.add_argument("--name", default=f"python-example-{os.getpid()}")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="a label for the container (repeatable)")
    parser.add_argument("--stubs", default=os.path.join(HERE, "generated"),
                        help="where generate.sh wrote the modules (default: %(default)s)")
    return parser.parse_args()


args = parse_args()
sys.path.insert(0, args.stubs)
try:
    from google.rpc import error_details_pb2, status_pb2
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from osiris.docker.v1 import docker_management_pb2 as osiris_pb2
    from osiris.docker.v1 import docker_management_pb2_grpc as osiris_grpc
except ImportError as error:
    sys.exit(f"generated modules not found in {args.stubs} ({error}): "
             "run `bash client-examples/python/generate.sh` first, or pass --stubs DIR")

STATE = osiris_pb2.ContainerState.Name
# The id of the container this script made, once it exists: the one thing it removes.
created_id = None
STREAM = osiris_pb2.LogStream.Name
# Each call gets a deadline: a client that waits forever on a lost server is a bug.
TIMEOUT_SECONDS = 60


def open_channel(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        sys.exit(f"--url must look like http://HOST:PORT or https://HOST:PORT, not {url!r}")
    if parts.scheme == "https":
        return grpc.secure_channel(parts.netloc, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(parts.netloc)


def bad_request_of(error):
    """The google.rpc.BadRequest detail of a failed call, from its `grpc-status-details-bin` trailer."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad_request = error_details_pb2.BadRequest()
                    detail.Unpack(bad_request)
                    return bad_request
    return None


def main():
    labels = dict(label.split("=", 1) for label in args.label)
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    with open_channel(args.url) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="osiris.docker.v1.DockerService"),
            timeout=TIMEOUT_SECONDS, metadata=metadata)
        print(f"health: {health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)}")

        osiris = osiris_grpc.DockerServiceStub(channel)
        code = 0
        try:
            run_follow_and_stop(osiris, labels, metadata)
            show_bad_request(osiris, metadata)
        except grpc.RpcError as error:
            print(f"failed: {error.code().name}: {error.details()}", file=sys.stderr)
            code = 1
        finally:
            # Whatever happened above, leave nothing behind.
            if created_id is not None:
                code = remove_container(osiris, created_id, metadata) or code
    return code


def remove_container(osiris, container_id, metadata):
    # By id, not name: when the run itself failed (say the name was taken), the
    # container with that name is someone else's.
    try:
        osiris.RemoveDockerContainer(
            osiris_pb2.RemoveDockerContainerRequest(container=container_id, force=True, ignore_not_found=True),
            timeout=TIMEOUT_SECONDS, metadata=metadata)
    except grpc.RpcError as error:
        print(f"could not remove {container_id}: {error.code().name}: {error.details()}; "
              f"remove it with `docker rm -f {container_id}`", file=sys.stderr)
        return 1
    print(f"removed {args.name}")
    return 0


def run_follow_and_stop(osiris, labels, metadata):
    global created_id
    started = osiris.RunDockerContainer(osiris_pb2.RunDockerContainerRequest(
        image=args.image,
        name=args.name,
        labels=labels,
        env={"GREETING": "hello from Python"},
        # One line a tenth of a second; exits 0 on SIGTERM, as a well-behaved service does.
        command=["sh", "-c", 'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo "$GREETING $i"; sleep 0.1; done'],
    ), timeout=TIMEOUT_SECONDS, metadata=metadata)
    container = started.container
    created_id = container.id
    print(f"started {container.name} ({container.id[:12]}): {STATE(container.state)}")

    # With follow the stream stays open while the container runs, and ends when it stops.
    logs = osiris.StreamDockerContainerLogs(
        osiris_pb2.StreamDockerContainerLogsRequest(container=container.id, follow=True, timestamps=True),
        timeout=TIMEOUT_SECONDS, metadata=metadata)
    lines = 0
    for message in logs:
        print(f"log {STREAM(message.stream)} {message.timestamp.ToJsonString()}: "
              f"{message.data.decode(errors='replace').rstrip()}")
        lines += 1
        if lines == 3:
            break

    stopped = osiris.StopDockerContainer(
        osiris_pb2.StopDockerContainerRequest(container=container.id, timeout_seconds=5),
        timeout=TIMEOUT_SECONDS, metadata=metadata)
    print(f"stopped {stopped.container.name}: {STATE(stopped.container.state)}, exit code {stopped.container.exit_code}")
    # Read to the end: the server ends the stream because the container stopped.
    for _ in logs:
        pass
    print("log stream ended: the container stopped")


def show_bad_request(osiris, metadata):
    try:
        osiris.RunDockerContainer(osiris_pb2.RunDockerContainerRequest(
            image="",
            ports=[osiris_pb2.PortMapping(container_port=70000, host_ip="not-an-ip")],
        ), timeout=TIMEOUT_SECONDS, metadata=metadata)
        raise AssertionError("the server accepted a request without an image")
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        print(f"bad request: {error.code().name}: {error.details()}")
        bad_request = bad_request_of(error)
        if bad_request is None:
            raise AssertionError("INVALID_ARGUMENT without a google.rpc.BadRequest detail") from error
        for violation in bad_request.field_violations:
            print(f"  field {violation.field}: {violation.description}")


if __name__ == "__main__":
    sys.exit(main())
