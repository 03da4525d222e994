// Package protocol serves helm commands one request at a time for helm-batch (Helm 4, ../main.go) and
// helm3-batch (Helm 3, ../helm3/batch.go). Its one dependency, pflag, is pinned at the version both Helms
// require, so that it changes neither build's module versions.
//
// One JSON request per line on stdin, {"args": [...], "stdin": "..."}; one JSON reply per line on stdout,
// {"status": N, "stdout": "...", "stderr": "..."}, status being helm's exit code. Each request runs with
// its stdin as the process's stdin and the process's stdout and stderr captured, so it answers as
// `helm ARGS <STDIN` would.
//
// Helm keeps its global flags (--namespace, --debug, --kube-context, ...) in package state that a parse only
// overwrites. So each request starts with --namespace restated at its start-up value, and a request that
// names any other global flag is refused (status 2): it could leak into the requests after it.
package protocol

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/spf13/pflag"
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

// Serve answers requests until stdin ends. helm runs one command (helm's main, returning its exit code);
// globals are helm's global flags (its root command's persistent flags).
func Serve(name string, helm func(args []string) int, globals *pflag.FlagSet) {
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	// HELM_BATCH_CPU_PROFILE=PREFIX writes a CPU profile of the whole session to PREFIX.<pid> (for measuring; helm's
	// own HELM_PPROF_CPU_PROFILE would profile each request into one file).
	if prefix := os.Getenv("HELM_BATCH_CPU_PROFILE"); prefix != "" {
		profile, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
		if err == nil && pprof.StartCPUProfile(profile) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	others := map[string]bool{}
	globals.VisitAll(func(f *pflag.Flag) {
		if f.Name != "namespace" {
			others["--"+f.Name] = true
			if f.Shorthand != "" {
				others["-"+f.Shorthand] = true
			}
		}
	})
	namespace := "--namespace=" + os.Getenv("HELM_NAMESPACE")

	replies := json.NewEncoder(os.Stdout)
	requests := bufio.NewScanner(os.Stdin)
	requests.Buffer(make([]byte, 1<<20), 256<<20)
	for requests.Scan() {
		var req request
		var answer reply
		if err := json.Unmarshal(requests.Bytes(), &req); err != nil {
			answer = reply{Status: 2, Stderr: name + ": bad request: " + err.Error() + "\n"}
		} else if why := refused(req.Args, others); why != "" {
			answer = reply{Status: 2, Stderr: name + ": " + why + "\n"}
		} else if answer, err = run(dir, helm, append([]string{namespace}, req.Args...), req.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		if err := replies.Encode(answer); err != nil {
			os.Exit(1)
		}
	}
	if err := requests.Err(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// refused: why args cannot be served, or "".
func refused(args []string, others map[string]bool) string {
	if len(args) == 0 || !served[args[0]] {
		return fmt.Sprintf("serves helm template and helm lint only, not %q", args)
	}
	for _, arg := range args {
		if arg == "--" {
			break
		}
		flag, _, _ := strings.Cut(arg, "=")
		if others[flag] {
			return fmt.Sprintf("the global flag %s would outlive this request; run the helm binary for it", flag)
		}
	}
	return ""
}

// run runs one helm command with stdin, stdout and stderr swapped for files in dir.
func run(dir string, helm func([]string) int, args []string, stdin string) (reply, error) {
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
