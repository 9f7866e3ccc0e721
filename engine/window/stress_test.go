package window

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
)

// stressProtocol has steps of every visual kind, each fading in over
// 0.3 s; they last an hour, so only the test moves between them.
const stressProtocol = `cueroom: 1
title: Stress
substance: alcohol
crossfade: 0.3s
baseline:
  duration: 1h
  cues:
    - image: neutral.png
    - breathing: 6
    - text: "Sit comfortably and breathe with the circle."
steps:
  - name: Video
    intensity: 1
    duration: 1h
    cues:
      - video: bar.mpg
        end: loop
      - text: "A short clip."
  - name: Bottle
    intensity: 2
    duration: 1h
    cues:
      - image: bottle.png
        zoom: 1.2
      - breathing: 8
      - text: "Notice the urge, and let it pass."
  - name: Bar
    intensity: 3
    duration: 1h
    cues:
      - panorama: bar_pano.png
      - text: "Look around."
  - name: Glass
    intensity: 4
    duration: 1h
    cues:
      - image: glass.png
        fit: fill
        pan: left
      - video: bar.mpg
        end: hold
`

// TestWindowStress is one long run of the real window with many
// crossfades between steps of every visual kind (pictures, a panorama, a
// video, the pacer, text), for the crash hunt of #14 item 7: set
// CUEROOM_WINDOW_STRESS to the number of step changes (each a crossfade);
// skipped without it. A crash kills the test process. For many launches of
// `cueroom run` see scripts/window-stress.sh.
func TestWindowStress(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CUEROOM_WINDOW_STRESS"))
	if n <= 0 {
		t.Skip("set CUEROOM_WINDOW_STRESS=N for N crossfades")
	}
	r := newRigWith(t, stressProtocol, demoFS(t))
	steps := 5 // the baseline and four
	dir, fades := 1, 0
	for fades < n {
		// Long enough for the fade to end, now and then; mostly a change
		// lands mid-fade or just after one.
		time.Sleep([]time.Duration{150, 350, 450}[fades%3] * time.Millisecond)
		snap := r.s.Snapshot()
		require.NotEqual(t, engine.Ended, snap.State)
		var err error
		switch {
		case fades%7 == 6:
			err = r.s.Repeat("test")
		case snap.Step+dir >= steps || snap.Step+dir < 0:
			dir = -dir
			err = r.s.Repeat("test")
		case dir > 0:
			err = r.s.Next("test")
		default:
			err = r.s.Back("test")
		}
		require.NoError(t, err)
		fades++
	}
	t.Logf("%d crossfades in one window", fades)
}
