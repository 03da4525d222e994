//go:build helm3batch

// helm3-batch: many `helm template` and `helm lint` commands of Helm 3 in one process, for the render suite
// (tests/harness/helm.py), through the protocol of ../protocol.
//
// Helm 3's command tree is the package main of helm.sh/helm/v3/cmd/helm, which no other package can import.
// tools/helm-batch/build.sh therefore builds this file into that package: in a scratch copy of Helm's
// module, with its main renamed helmMain. helm below is that main, returning its exit code instead of
// exiting. tools/tests/test_helm_batch.py compares its answers with the helm3 binary's.
package main

import (
	"io"
	"log"
	"os"

	"github.com/spf13/cobra"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"local/helm-batch/protocol"
)

var _ = helmMain // Helm's own main, kept but unused

func main() {
	kube.ManagedFieldsManager = "helm" // as helm's main sets it
	root, err := newRootCmd(new(action.Configuration), io.Discard, nil)
	if err != nil {
		warning("%+v", err)
		os.Exit(1)
	}
	protocol.Serve("helm3-batch", helm, root.PersistentFlags())
}

func helm(args []string) int {
	actionConfig := new(action.Configuration)
	cmd, err := newRootCmd(actionConfig, os.Stdout, args)
	if err != nil {
		warning("%+v", err)
		return 1
	}
	cobra.OnInitialize(func() {
		helmDriver := os.Getenv("HELM_DRIVER")
		if err := actionConfig.Init(settings.RESTClientGetter(), settings.Namespace(), helmDriver, debug); err != nil {
			log.Fatal(err)
		}
		if helmDriver == "memory" {
			loadReleasesInMemory(actionConfig)
		}
		actionConfig.SetHookOutputFunc(hookOutputWriter)
	})
	cmd.SetArgs(args)
	cmd.SetOut(os.Stdout)
	cmd.SetErr(os.Stderr)
	if err := cmd.Execute(); err != nil {
		debug("%+v", err)
		if perr, ok := err.(pluginError); ok {
			return perr.code
		}
		return 1
	}
	return 0
}
