package scenes

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const panoProtocol = `cueroom: 1
title: Pano
substance: alcohol
baseline:
  duration: 10s
  cues:
    - text: Relax.
steps:
  - name: Bar
    intensity: 3
    duration: 30s
    cues:
      - panorama: media/pano.png
        fov: %s
        yaw: 45
`

func TestPanorama(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		fov     string
		wantErr string
	}{
		{"2:1 picture", 64, 32, "100", ""},
		{"not 2:1", 64, 40, "90", "is 64×40, but a 360° panorama must be equirectangular"},
		{"fov out of range", 64, 32, "170", "fov 170 is the horizontal field of view in degrees and must be from 30 to 120"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"media/pano.png": {Data: makePNG(t, tc.w, tc.h)}}
			src := []byte(sprintf(panoProtocol, tc.fov))
			p, err := Parse("p.yaml", src, fsys)
			if err == nil {
				err = p.Check()
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), "p.yaml:1")
				return
			}
			require.NoError(t, err)
			c := p.Steps[0].Cues[0]
			assert.Equal(t, KindPanorama, c.Kind)
			assert.Equal(t, 100.0, c.FOV)
			assert.Equal(t, 45.0, c.Yaw)
		})
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
