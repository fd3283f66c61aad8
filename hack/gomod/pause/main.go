// The pod sandbox process of the local real node (hack/node.sh): it holds the pod's namespaces
// until the kubelet stops the pod, as registry.k8s.io/pause does; built here because no registry is
// reachable.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
