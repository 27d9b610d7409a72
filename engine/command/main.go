// Command pulumi-resource-command is the engine plugin behind @pulumi/command's remote.Command,
// written for Kinetic because the upstream provider's Go module is not served by the module
// proxy that these machines reach (see engine/README.md). It implements the resource the program
// declares, with the documented semantics of @pulumi/command 1.2.1:
//
//   - create runs `create`; a change of `create`, `update`, `stdin` or `environment` runs
//     `update` (or `create` again when there is none); a change of `triggers` replaces the
//     resource (the SDK asks for replaceOnChanges on triggers[*]); delete runs `delete`;
//   - stdin goes to every command; PULUMI_COMMAND_STDOUT/STDERR carry the previous outputs;
//   - `connection.hostKey`, when given, is the only host key accepted, checked before anything
//     is sent.
//
// Anything else the package offers (local.Command, copy resources, proxies) is refused with a
// message rather than half-supported.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version answers GetPluginInfo: the SDK interface it serves, marked as Kinetic's build.
const version = "1.2.1+kinetic"

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newCommandProvider(host), nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
