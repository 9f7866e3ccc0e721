package replay

import (
	"fmt"
	"time"

	"github.com/cueroom/cueroom/engine/window"
	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
)

// The window replays where the patient looked in 360° scenes.
var _ window.Looker = (*Player)(nil)

// Caption is the researcher's line at the top of the window.
func (s Status) Caption() string {
	state := "playing"
	if !s.Playing {
		state = "paused"
	}
	return fmt.Sprintf("replay %s / %s · %g× · %s", clockTime(s.Position.Duration()), clockTime(s.Duration.Duration()), s.Speed, state)
}

func clockTime(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// speeds are the steps + and - move through.
var speeds = []float64{0.25, 0.5, 1, 2, 4, 8, 16}

// Keys is the window's replay control (window.Options.OnUpdate, on the
// render thread): Space play/pause, ←/→ 10 s, PgUp/PgDn a step, +/- speed,
// Q quit.
func (p *Player) Keys() {
	just := inpututil.IsKeyJustPressed
	switch {
	case just(ebiten.KeySpace):
		if p.Status().Playing {
			_ = p.Pause()
		} else {
			_ = p.Play()
		}
	case just(ebiten.KeyArrowLeft):
		p.Seek(p.Now() - 10*time.Second)
	case just(ebiten.KeyArrowRight):
		p.Seek(p.Now() + 10*time.Second)
	case just(ebiten.KeyPageUp):
		_ = p.PrevStep()
	case just(ebiten.KeyPageDown):
		_ = p.NextStep()
	case just(ebiten.KeyEqual), just(ebiten.KeyNumpadAdd):
		_ = p.SetSpeed(NextSpeed(p.Status().Speed, +1))
	case just(ebiten.KeyMinus), just(ebiten.KeyNumpadSubtract):
		_ = p.SetSpeed(NextSpeed(p.Status().Speed, -1))
	case just(ebiten.KeyQ):
		p.End("quit")
	}
}

// NextSpeed is the next listed speed above (dir > 0) or below cur, or cur
// at either end (cur may be any speed given with --speed).
func NextSpeed(cur float64, dir int) float64 {
	if dir > 0 {
		for _, s := range speeds {
			if s > cur {
				return s
			}
		}
		return cur
	}
	for i := len(speeds) - 1; i >= 0; i-- {
		if speeds[i] < cur {
			return speeds[i]
		}
	}
	return cur
}
