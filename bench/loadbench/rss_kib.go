//go:build unix && !darwin

package main

// maxRSSDivisor: ru_maxrss is in KiB already on Linux and the BSDs.
const maxRSSDivisor = 1
