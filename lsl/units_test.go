package lsl

import "testing"

func TestUnits(t *testing.T) {
	for _, u := range units {
		if got := ShortUnit(XDFUnit(u[0])); got != u[0] {
			t.Errorf("%s → %s → %s", u[0], XDFUnit(u[0]), got)
		}
	}
	if XDFUnit("bpm") != "bpm" || ShortUnit("Microvolts") != "uV" {
		t.Errorf("bpm → %s, Microvolts → %s", XDFUnit("bpm"), ShortUnit("Microvolts"))
	}
}
