package main

// maxRSSDivisor turns Darwin's ru_maxrss (bytes) into KiB.
const maxRSSDivisor = 1024
