package hrv_test

import (
	"fmt"
	"math"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

func Example() {
	// Beats at about 60 bpm for 3 minutes, one missed by the detector and
	// one false detection, and a stretch of unusable signal.
	var beats []float64
	t := 0.0
	for i := range 185 {
		t += 1 + 0.05*math.Sin(2*math.Pi*0.25*t)
		switch {
		case i == 40: // missed
		case i == 90:
			beats = append(beats, t, t+0.3) // extra
		case t > 150.5 && t < 152.5: // none found in unusable signal
		default:
			beats = append(beats, t)
		}
	}
	gaps := []hrv.Span{{From: 150.5, To: 152.5}}

	s := hrv.Correct(beats, gaps, hrv.Correction{})
	fmt.Printf("artefacts: %+v\n", s.Artefacts)

	r := s.Whole(hrv.Options{})
	fmt.Printf("RMSSD %.0f ms over %d intervals\n", r.Time.RMSSD, r.NN)
	step := s.Analyze(0, 45, hrv.Options{})
	fmt.Println("first 45 s:", step.TimeWhy)

	live := hrv.NewLive(60)
	var rmssd float64
	var ok bool
	for i := 1; i < len(beats); i++ {
		rmssd, ok = live.Add(beats[i], beats[i]-beats[i-1], false)
	}
	fmt.Printf("live RMSSD %.0f ms (%v)\n", rmssd, ok)
	// Output:
	// artefacts: {Ectopic:0 Long:0 Short:0 Missed:1 Extra:1}
	// RMSSD 50 ms over 181 intervals
	// first 45 s: not enough data: 43 s of NN intervals, at least 60 s needed
	// live RMSSD 50 ms (true)
}
