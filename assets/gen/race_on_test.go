//go:build race

package main

// raceEnabled: the race detector slows the picture drawing (pure arithmetic
// on one goroutine) about tenfold, so the tests that redraw every picture
// run only without it.
const raceEnabled = true
