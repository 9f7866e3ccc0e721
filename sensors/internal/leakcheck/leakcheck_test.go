package leakcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

//go:noinline
func park(release <-chan struct{}, parked chan<- struct{}) {
	close(parked)
	<-release
}

func TestLeftoverFindsAndForgets(t *testing.T) {
	release, parked, exited := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		park(release, parked)
	}()
	<-parked
	// this test's own goroutine also runs sensors code, so look for park only
	assert.Contains(t, Leftover(20*time.Millisecond), "leakcheck.park", "a parked goroutine is a leak")
	close(release)
	<-exited
	require.Eventually(t, func() bool {
		return !strings.Contains(Leftover(0), "leakcheck.park")
	}, 5*time.Second, 10*time.Millisecond, "a finished goroutine is no leak")
}
