//go:build race

package main

// raceEnabled says the race detector is on, so the parley binary the
// tests build uses it too (and the compiled packages of the test build).
const raceEnabled = true
