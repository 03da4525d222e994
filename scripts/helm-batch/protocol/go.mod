module local/helm-batch/protocol

go 1.26
