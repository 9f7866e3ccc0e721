package analysis

import (
	"math"

	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
)

// Where the patient looked in a 360° scene. A look event holds until the
// next one (the window records the view when the scene comes on and then
// each move; a headset every frame it reports), so each view's dwell is
// the time to the next look, the cue's offset, or a pause.
const (
	sectorDeg = 45.0 // yaw sectors, centred on 0° (the picture's centre)
	aheadYaw  = 30.0 // "ahead": within this yaw…
	aheadPit  = 20.0 // …and pitch of the direction the scene opened at
	levelPit  = 20.0 // pitch bands: up < −20°, level, down > +20° (pitch > 0 looks down)
)

// looks measures the dwell of each cue presentation that has look events
// (360° scenes). paused spans are left out: the calm scene hides the cue.
func looks(evs []event.Event, cues []shown, paused [][2]float64) map[int]*report.Look {
	type view struct {
		t          float64
		yaw, pitch float64
	}
	byCue := map[string][]view{}
	for _, e := range evs {
		if l, ok := e.Data.(event.Look); ok && finite(l.YawDeg) && finite(l.PitchDeg) {
			byCue[l.Cue] = append(byCue[l.Cue], view{e.T.Seconds(), l.YawDeg, l.PitchDeg})
		}
	}
	out := map[int]*report.Look{}
	for i, c := range cues {
		vs := byCue[c.id]
		var in []view
		for _, v := range vs {
			if v.t >= c.on && v.t < c.off {
				in = append(in, v)
			}
		}
		if len(in) == 0 {
			continue
		}
		l := &report.Look{Looks: len(in), Sectors: make([]report.Sector, int(360/sectorDeg))}
		for k := range l.Sectors {
			l.Sectors[k].Yaw = wrap(float64(k) * sectorDeg)
		}
		open := in[0]
		var sx, sy float64
		for k, v := range in {
			until := c.off
			if k+1 < len(in) {
				until = in[k+1].t
			}
			d := until - v.t - overlap(paused, v.t, until)
			if d <= 0 {
				continue
			}
			l.Seconds += d
			yaw := wrap(v.yaw)
			l.Sectors[sectorOf(yaw)].Seconds += d
			switch { // the window's convention: pitch > 0 looks down
			case v.pitch > levelPit:
				l.DownS += d
			case v.pitch < -levelPit:
				l.UpS += d
			default:
				l.LevelS += d
			}
			if math.Abs(wrap(v.yaw-open.yaw)) <= aheadYaw && math.Abs(v.pitch-open.pitch) <= aheadPit {
				l.AheadS += d
			}
			sx += d * math.Cos(yaw*math.Pi/180)
			sy += d * math.Sin(yaw*math.Pi/180)
		}
		if l.Seconds == 0 {
			continue
		}
		l.OpenYaw, l.OpenPitch = open.yaw, open.pitch
		// The time-weighted circular mean, and how concentrated the gaze
		// was (1: one direction throughout, 0: all round evenly).
		l.MeanYaw = math.Round(wrap(math.Atan2(sy, sx)*180/math.Pi)*10) / 10
		l.Concentration = math.Round(math.Hypot(sx, sy)/l.Seconds*1000) / 1000
		out[i] = l
	}
	return out
}

// wrap puts an angle in (−180°, 180°].
func wrap(deg float64) float64 {
	d := math.Remainder(deg, 360)
	if d == -180 {
		d = 180
	}
	return d
}

// sectorOf is the index of the 45° sector around yaw (0: −22.5…22.5°,
// counting to the right).
func sectorOf(yaw float64) int {
	n := int(360 / sectorDeg)
	k := int(math.Floor((yaw+sectorDeg/2)/sectorDeg)) % n
	if k < 0 {
		k += n
	}
	return k
}
