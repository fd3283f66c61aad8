module slogate.dev/hack/pause

go 1.22
