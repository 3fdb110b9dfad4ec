"""flowform's moto server launcher (run with the aws venv's python; see scripts/tools.sh).

    python moto_server.py [--port N]     # N=0 or absent: pick a free loopback port

Binds 127.0.0.1, prints exactly one line `MOTO_PORT=<port>` on stdout once the server
accepts connections, then serves until SIGTERM/SIGINT.

Fixes gotcha G4 (shared/reference/moto-and-linters.md): moto's LambdaFunction inherits a
lazy `docker_client` property (DockerModel, moto/utilities/docker_utilities.py) that raises
docker.errors.DockerException when Docker is absent. GET /moto-api/data.json probes every
public attribute and skips only TypeError/AttributeError/ValueError, so it answers HTTP 500
once any Lambda function exists. We re-raise that error as a class that is both a
DockerException (Lambda invoke still catches it and reports "error running docker") and an
AttributeError (data.json skips the attribute). Pinned against moto 5.2.5.

Also: moto creates nested stacks (`AWS::CloudFormation::Stack`) but answers
`Fn::GetAtt [Child, Outputs.X]` with HTTP 500 (its Stack model has no get_cfn_attribute).
`patch_nested_stack_outputs` adds it, reading the child's output map, so a root template can
wire a nested stack's outputs into its own resources as CloudFormation does.

And: moto registers a stack's exports (`Outputs.X.Export.Name`) and resolves `Fn::ImportValue`
only for stacks made by CreateStack; `aws cloudformation deploy` makes them with change sets,
whose stacks see no exports and publish none. `patch_change_set_exports` gives a change set's
stack the region's exports and registers its own once the change set has run (names unique in
the region, as CloudFormation requires), so one config's stack can import another's topics.
"""

import argparse
import os
import signal
import socket
import sys
import threading

import docker.errors
from moto.awslambda.models import LambdaFunction
from moto.server import ThreadedMotoServer
from moto.utilities.docker_utilities import DockerModel


class DockerUnavailableError(docker.errors.DockerException, AttributeError):
    """Docker is unreachable; also an AttributeError so data.json skips docker_client."""


def patch_docker_client() -> None:
    original = DockerModel.docker_client
    if not isinstance(original, property) or original.fget is None:
        sys.exit("moto_server.py: DockerModel.docker_client is no longer a property; re-check G4")

    def docker_client(self):  # type: ignore[no-untyped-def]
        try:
            return original.fget(self)
        except DockerUnavailableError:
            raise
        except docker.errors.DockerException as e:
            raise DockerUnavailableError(str(e)) from e

    DockerModel.docker_client = property(docker_client, doc=original.__doc__)
    # LambdaFunction must inherit the patched property (guards against moto upgrades).
    if LambdaFunction.docker_client is not DockerModel.docker_client:
        sys.exit("moto_server.py: LambdaFunction overrides docker_client; re-check G4")


def patch_nested_stack_outputs() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.cloudformation.models import Stack

    if hasattr(Stack, "get_cfn_attribute"):
        sys.exit("moto_server.py: moto's Stack has its own get_cfn_attribute now; drop the patch")

    def get_cfn_attribute(self, attribute_name):  # type: ignore[no-untyped-def]
        if attribute_name.startswith("Outputs."):
            output = self.output_map[attribute_name[len("Outputs."):]]
            if output is not None:
                return output.value
        raise UnformattedGetAttTemplateException()

    Stack.get_cfn_attribute = get_cfn_attribute


def patch_change_set_exports() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    create, execute = CloudFormationBackend.create_change_set, CloudFormationBackend.execute_change_set

    def create_change_set(self, stack_name, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = create(self, stack_name, *args, **kwargs)
        for stack in self.stacks.values():
            if stack.name == stack_name:
                stack.cross_stack_resources = self.exports
                stack.resource_map.cross_stack_resources = self.exports
        return result

    def execute_change_set(self, change_set_name, stack_name=None):  # type: ignore[no-untyped-def]
        execute(self, change_set_name, stack_name)
        # The change set's stack (by ARN, or by name as execute found it).
        sets = self.change_sets
        change_set = sets.get(change_set_name) or next(
            cs for cs in sets.values() if cs.change_set_name == change_set_name
        )
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.create_change_set = create_change_set
    CloudFormationBackend.execute_change_set = execute_change_set


def wait_accepting(port: int, timeout: float = 10.0) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the parent process dies"
    )
    args = parser.parse_args()

    # Keep stdout for the MOTO_PORT line only: moto prints some warnings to stdout.
    port_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    patch_docker_client()
    patch_nested_stack_outputs()
    patch_change_set_exports()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    # moto reads MOTO_PORT for endpoints it hands to Lambda/Batch containers.
    os.environ["MOTO_PORT"] = str(port)
    wait_accepting(port)
    print(f"MOTO_PORT={port}", file=port_out, flush=True)
    port_out.close()

    parent = os.getppid()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        if args.exit_with_parent and os.getppid() != parent:
            break  # our caller was killed without cleaning up: don't linger
    server.stop()


if __name__ == "__main__":
    main()
