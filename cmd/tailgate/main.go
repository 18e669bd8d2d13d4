// Command tailgate is an open-loop load generator and tail-latency
// benchmark. See the README for usage and exit codes.
package main

import (
	"os"

	"tailgate/cmd/cli"
)

func main() { os.Exit(cli.Main()) }
