//go:build tools

// Package tools pins the programs this wrapper module builds.
package tools

import (
	_ "github.com/argoproj/argo-cd/v3/cmd"
)
