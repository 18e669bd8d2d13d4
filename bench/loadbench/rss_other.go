//go:build !unix

package main

import "os"

// maxRSSKiB is 0 (unknown): Windows reports no peak working set here.
func maxRSSKiB(*os.ProcessState) int64 { return 0 }
