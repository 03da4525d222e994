// helm-batch: many `helm template` and `helm lint` commands in one process, for the render suite
// (tests/harness/helm.py). Starting helm costs about 0.1 s, most of a render; this program pays it once.
//
// It runs Helm's own command tree (helm.sh/helm/v4/pkg/cmd, all that the helm binary's main calls) once per
// request, with the request's arguments, its stdin as the process's stdin, and the process's stdout and
// stderr captured, so a request answers as `helm ARGS <STDIN` would. tests/unit/test_render_and_lint.py
// compares its answers with the helm binary's, scenario by scenario and error by error.
//
// Protocol: one JSON request per line on stdin, {"args": [...], "stdin": "..."}; one JSON reply per line on
// stdout, {"status": N, "stdout": "...", "stderr": "..."}, status being helm's exit code.
//
// Helm keeps its global flags (--namespace, --debug, --kube-context, ...) in package state that a parse
// only overwrites. So each request starts with --namespace restated at its start-up value, and a request
// that names any other global flag is refused (status 2): it could leak into the requests after it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	helmcmd "helm.sh/helm/v4/pkg/cmd"
	"helm.sh/helm/v4/pkg/kube"
)

type request struct {
	Args  []string `json:"args"`
	Stdin string   `json:"stdin"`
}

type reply struct {
	Status int    `json:"status"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

// The commands served: they read the chart and values only, never a cluster or a repository.
var served = map[string]bool{"template": true, "lint": true}

func main() {
	kube.ManagedFieldsManager = "helm" // as helm's main sets it
	dir, err := os.MkdirTemp("", "helm-batch-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	globals, err := globalFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	namespace := "--namespace=" + os.Getenv("HELM_NAMESPACE")

	replies := json.NewEncoder(os.Stdout)
	requests := bufio.NewScanner(os.Stdin)
	requests.Buffer(make([]byte, 1<<20), 256<<20)
	for requests.Scan() {
		var req request
		var answer reply
		if err := json.Unmarshal(requests.Bytes(), &req); err != nil {
			answer = reply{Status: 2, Stderr: "helm-batch: bad request: " + err.Error() + "\n"}
		} else if why := refused(req.Args, globals); why != "" {
			answer = reply{Status: 2, Stderr: "helm-batch: " + why + "\n"}
		} else {
			answer, err = serve(dir, append([]string{namespace}, req.Args...), req.Stdin)
			if err != nil {
				fmt.Fprintln(os.Stderr, "helm-batch:", err)
				os.Exit(1)
			}
		}
		if err := replies.Encode(answer); err != nil {
			os.Exit(1)
		}
	}
	if err := requests.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "helm-batch:", err)
		os.Exit(1)
	}
}

// globalFlags: the names and shorthands of Helm's global flags other than --namespace.
func globalFlags() (map[string]bool, error) {
	root, err := helmcmd.NewRootCmd(io.Discard, nil, func(bool) {})
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "namespace" {
			names["--"+f.Name] = true
			if f.Shorthand != "" {
				names["-"+f.Shorthand] = true
			}
		}
	})
	return names, nil
}

// refused: why args cannot be served, or "".
func refused(args []string, globals map[string]bool) string {
	if len(args) == 0 || !served[args[0]] {
		return fmt.Sprintf("serves helm template and helm lint only, not %q", args)
	}
	for _, arg := range args {
		if arg == "--" {
			break
		}
		name, _, _ := strings.Cut(arg, "=")
		if globals[name] {
			return fmt.Sprintf("the global flag %s would outlive this request; run the helm binary for it", name)
		}
	}
	return ""
}

// serve runs one helm command with stdin, stdout and stderr swapped for files in dir.
func serve(dir string, args []string, stdin string) (reply, error) {
	in, out, errs := filepath.Join(dir, "stdin"), filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	if err := os.WriteFile(in, []byte(stdin), 0o600); err != nil {
		return reply{}, err
	}
	files := make([]*os.File, 3)
	for i, open := range []func() (*os.File, error){
		func() (*os.File, error) { return os.Open(in) },
		func() (*os.File, error) { return os.Create(out) },
		func() (*os.File, error) { return os.Create(errs) },
	} {
		f, err := open()
		if err != nil {
			return reply{}, err
		}
		defer f.Close()
		files[i] = f
	}
	saved := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	os.Stdin, os.Stdout, os.Stderr = files[0], files[1], files[2]
	log.SetOutput(os.Stderr) // the standard logger keeps the writer it was given, not the variable
	status := helm(args)
	os.Stdin, os.Stdout, os.Stderr = saved[0], saved[1], saved[2]
	log.SetOutput(os.Stderr)

	stdout, err := os.ReadFile(out)
	if err != nil {
		return reply{}, err
	}
	stderr, err := os.ReadFile(errs)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: status, Stdout: string(stdout), Stderr: string(stderr)}, nil
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
