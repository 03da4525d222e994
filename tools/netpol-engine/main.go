// netpol-truth evaluates Kubernetes NetworkPolicies offline with cyclonus's policy matcher
// (github.com/mattfenwick/cyclonus/pkg/matcher), the engine behind cyclonus's conformance
// verdicts. The `cyclonus analyze --mode query-traffic` CLI wraps the same calls but prints
// human tables; this program answers in JSON so tests/harness/netpol.py can parse it exactly.
//
// Input (stdin), one JSON document:
//
//	{"policies": [NetworkPolicy, ...],          // full objects, metadata.namespace set
//	 "peers":    [{"namespace": "ns", "namespaceLabels": {...}, "podLabels": {...}, "ip": "10.0.0.1"},
//	              {"ip": "10.96.0.1"}],         // no namespace: outside the cluster's pods
//	 "flows":    [{"src": 0, "dst": 1, "port": 4370, "portName": "ekka", "protocol": "TCP"}]}
//
// Output (stdout): {"engine": "<module> <version>", "results": [{"allowed", "ingress", "egress"}]},
// one result per flow, in input order. "ingress" is the destination's ingress verdict, "egress"
// the source's egress verdict; Kubernetes allows a flow when both allow it.
// Errors (bad JSON, unknown fields, invalid policies) go to stderr with exit status 2.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const engineModule = "github.com/mattfenwick/cyclonus"

type peer struct {
	Namespace       string            `json:"namespace"`
	NamespaceLabels map[string]string `json:"namespaceLabels"`
	PodLabels       map[string]string `json:"podLabels"`
	IP              string            `json:"ip"`
}

type flow struct {
	Src      int         `json:"src"`
	Dst      int         `json:"dst"`
	Port     int         `json:"port"`
	PortName string      `json:"portName"`
	Protocol v1.Protocol `json:"protocol"`
}

type input struct {
	Policies []*networkingv1.NetworkPolicy `json:"policies"`
	Peers    []peer                        `json:"peers"`
	Flows    []flow                        `json:"flows"`
}

type result struct {
	Allowed bool `json:"allowed"`
	Ingress bool `json:"ingress"`
	Egress  bool `json:"egress"`
}

type output struct {
	Engine  string   `json:"engine"`
	Results []result `json:"results"`
}

// engineVersion is the cyclonus version actually linked into this binary.
func engineVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == engineModule {
				return dep.Path + " " + dep.Version
			}
		}
	}
	return engineModule + " (unknown version)"
}

// defaultPolicyTypes applies the API server's defaulting (SetDefaults_NetworkPolicy in
// k8s.io/kubernetes/pkg/apis/networking/v1): a policy without policyTypes is an Ingress policy,
// and also an Egress policy when it has egress rules. cyclonus expects defaulted objects (it panics
// on an empty list), and rendered manifests are not defaulted.
func defaultPolicyTypes(np *networkingv1.NetworkPolicy) {
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

// validate rejects what the API server's validation rejects and cyclonus would evaluate anyway:
// cyclonus reads a peer with an ipBlock as that ipBlock alone, ignoring selectors next to it, and
// checks a CIDR only when a flow reaches it.
func validate(np *networkingv1.NetworkPolicy) error {
	var peers []networkingv1.NetworkPolicyPeer
	for _, rule := range np.Spec.Ingress {
		peers = append(peers, rule.From...)
	}
	for _, rule := range np.Spec.Egress {
		peers = append(peers, rule.To...)
	}
	for _, p := range peers {
		if p.IPBlock == nil {
			continue
		}
		if p.PodSelector != nil || p.NamespaceSelector != nil {
			return fmt.Errorf("policy %s/%s: a peer with ipBlock may not have selectors", np.Namespace, np.Name)
		}
		for _, cidr := range append([]string{p.IPBlock.CIDR}, p.IPBlock.Except...) {
			if _, _, err := net.ParseCIDR(cidr); err != nil {
				return fmt.Errorf("policy %s/%s: %w", np.Namespace, np.Name, err)
			}
		}
	}
	return nil
}

// ipKnown guards cyclonus's ipBlock matcher, which fails on a peer without an IP: a pod whose IP
// the caller did not give matches no ipBlock (rather than an arbitrary made-up address matching).
type ipKnown struct{ inner *matcher.IPPeerMatcher }

func (g ipKnown) Allows(p *matcher.TrafficPeer, port int, portName string, protocol v1.Protocol) bool {
	return p.IP != "" && g.inner.Allows(p, port, portName, protocol)
}

func guardIPBlocks(policy *matcher.Policy) {
	for _, targets := range []map[string]*matcher.Target{policy.Ingress, policy.Egress} {
		for _, target := range targets {
			for i, pm := range target.Peers {
				if ip, ok := pm.(*matcher.IPPeerMatcher); ok {
					target.Peers[i] = ipKnown{ip}
				}
			}
		}
	}
}

func trafficPeer(p peer) *matcher.TrafficPeer {
	if p.Namespace == "" {
		return &matcher.TrafficPeer{IP: p.IP}
	}
	return &matcher.TrafficPeer{
		IP: p.IP,
		Internal: &matcher.InternalPeer{
			Namespace:       p.Namespace,
			NamespaceLabels: p.NamespaceLabels,
			PodLabels:       p.PodLabels,
		},
	}
}

func run(in io.Reader, out io.Writer) (err error) {
	// cyclonus reports invalid policies (bad CIDR, a peer with both ipBlock and selectors,
	// a named port with endPort, ...) by panicking; turn that into an ordinary error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cyclonus rejected the input: %v", r)
		}
	}()

	var req input
	dec := json.NewDecoder(in)
	// A misspelt field in a policy would otherwise be dropped silently and change the verdicts.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("decoding input: %w", err)
	}
	for _, np := range req.Policies {
		if err := validate(np); err != nil {
			return err
		}
		defaultPolicyTypes(np)
	}
	// simplify=false: evaluate the policies as written; simplification only merges equivalent
	// rules and is a presentation aid in cyclonus's CLI.
	policy := matcher.BuildNetworkPolicies(false, req.Policies)
	guardIPBlocks(policy)

	peers := make([]*matcher.TrafficPeer, len(req.Peers))
	for i, p := range req.Peers {
		peers[i] = trafficPeer(p)
	}
	res := output{Engine: engineVersion(), Results: make([]result, len(req.Flows))}
	for i, f := range req.Flows {
		if f.Src < 0 || f.Src >= len(peers) || f.Dst < 0 || f.Dst >= len(peers) {
			return fmt.Errorf("flow %d: peer index out of range", i)
		}
		verdict := policy.IsTrafficAllowed(&matcher.Traffic{
			Source:           peers[f.Src],
			Destination:      peers[f.Dst],
			ResolvedPort:     f.Port,
			ResolvedPortName: f.PortName,
			Protocol:         f.Protocol,
		})
		res.Results[i] = result{
			Allowed: verdict.IsAllowed(),
			Ingress: verdict.Ingress.IsAllowed(),
			Egress:  verdict.Egress.IsAllowed(),
		}
	}
	return json.NewEncoder(out).Encode(res)
}

func main() {
	version := flag.Bool("version", false, "print the engine module and version, then exit")
	flag.Parse()
	if *version {
		fmt.Println(engineVersion())
		return
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "netpol-truth:", err)
		os.Exit(2)
	}
}
