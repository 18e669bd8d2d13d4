//go:build unix

// Command loadcmp compares HTTP client engines as load generators; see
// package loadcmp.
package main

import (
	"os"

	"tailgate/targets/h1/internal/loadcmp"
)

func main() { os.Exit(loadcmp.Main(os.Args[1:], nil)) }
