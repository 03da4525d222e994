module local/helm-batch/protocol

go 1.26

// The version both helm.sh/helm/v4 and helm.sh/helm/v3 require (scripts/versions.env pins them).
require github.com/spf13/pflag v1.0.10
