//go:build race

package demo_test

// raceEnabled says the race detector is on: see bookSize.
const raceEnabled = true
