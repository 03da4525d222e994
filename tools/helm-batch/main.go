// helm-batch: many `helm template` and `helm lint` commands of Helm 4 in one process, for the render suite
// (tests/harness/helm.py). Starting helm costs about 0.1 s, most of a render; this program pays it once.
//
// It runs Helm's own command tree (helm.sh/helm/v4/pkg/cmd, all that the helm binary's main calls) once per
// request, through the protocol of ./protocol. tools/tests/test_helm_batch.py compares its answers with the
// helm binary's, scenario by scenario and error by error.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	helmcmd "helm.sh/helm/v4/pkg/cmd"
	"helm.sh/helm/v4/pkg/kube"
	"local/helm-batch/protocol"
)

func main() {
	kube.ManagedFieldsManager = "helm" // as helm's main sets it
	root, err := helmcmd.NewRootCmd(io.Discard, nil, func(bool) {})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-batch:", err)
		os.Exit(1)
	}
	protocol.Serve("helm-batch", helm, root.PersistentFlags())
}

// helm is the helm binary's main, returning its exit code instead of exiting.
func helm(args []string) int {
	cmd, err := helmcmd.NewRootCmd(os.Stdout, args, helmcmd.SetupLogging)
	if err != nil {
		slog.Warn("command failed", slog.Any("error", err))
		return 1
	}
	cmd.SetArgs(args)
	cmd.SetOut(os.Stdout)
	cmd.SetErr(os.Stderr)
	if err := cmd.Execute(); err != nil {
		if cerr, ok := errors.AsType[helmcmd.CommandError](err); ok {
			return cerr.ExitCode
		}
		return 1
	}
	return 0
}
