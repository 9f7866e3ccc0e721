// Command gen makes the media of the bundled alcohol cue exposure demo:
// pictures drawn from code, sounds synthesised from noise and sines, and
// narration spoken by espeak-ng. Everything is made here, so the demo carries
// no photographs or recordings of unknown origin, and running it again gives
// the same files.
//
// Run it from the repository root:
//
//	go run ./assets/gen            # writes assets/demo/media/
//	go run ./assets/gen -only bottle.png,pour.wav
//
// espeak-ng makes script.wav and breathe.wav, and ffmpeg encodes bar.mpg;
// without them those files are left as they are (or the run fails if they
// do not exist yet).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// job makes one media file's bytes.
type job struct {
	name string
	make func() ([]byte, error)
}

func jobs() []job {
	pic := func(draw func() *canvas) func() ([]byte, error) {
		return func() ([]byte, error) { return encodePNG(draw()) }
	}
	snd := func(synth func() []float64) func() ([]byte, error) {
		return func() ([]byte, error) { return encodeWAV(synth(), sampleRate), nil }
	}
	return []job{
		{"neutral.png", pic(drawNeutral)},
		{"bottle.png", pic(drawBottle)},
		{"glass.png", pic(drawGlass)},
		{"bar.png", pic(drawBar)},
		{"bar_pano.png", pic(drawPanorama)},
		{"pour.wav", snd(synthPour)},
		{"clink.wav", snd(synthClink)},
		{"bar.wav", snd(synthBar)},
		{"calm.wav", snd(synthCalm)},
		{"script.wav", func() ([]byte, error) { return speak(scriptText) }},
		{"breathe.wav", func() ([]byte, error) { return speak(breatheText) }},
		{"bar.mpg", makeBarVideo},
	}
}

func encodePNG(c *canvas) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, c.image()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func main() {
	out := flag.String("out", filepath.Join("assets", "demo", "media"), "folder to write the media into")
	only := flag.String("only", "", "comma-separated file names to make (default: all)")
	flag.Parse()
	if err := run(os.Stdout, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// run makes the media named in only (all when empty) in out, reporting
// each file's size to w.
func run(w io.Writer, out, only string) error {
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("%s does not exist: run from the repository root (go run ./assets/gen) or pass -out", filepath.Dir(out))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var want []string
	if only != "" {
		want = strings.Split(only, ",")
		var names []string
		for _, j := range jobs() {
			names = append(names, j.name)
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				return fmt.Errorf("-only: no media file %q; the generator makes %s", w, strings.Join(names, ", "))
			}
		}
	}
	var total int64
	for _, j := range jobs() {
		if want != nil && !slices.Contains(want, j.name) {
			continue
		}
		dst := filepath.Join(out, j.name)
		b, err := j.make()
		if errors.Is(err, errNoSpeech) || errors.Is(err, errNoFFmpeg) {
			if st, serr := os.Stat(dst); serr == nil {
				fmt.Fprintf(w, "%-12s kept as is (%d bytes): %v\n", j.name, st.Size(), err)
				total += st.Size()
				continue
			}
			return fmt.Errorf("%s: %w", j.name, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", j.name, err)
		}
		if err := writeFile(dst, b); err != nil {
			return err
		}
		total += int64(len(b))
		fmt.Fprintf(w, "%-12s %8d bytes\n", j.name, len(b))
	}
	fmt.Fprintf(w, "%-12s %8d bytes\n", "total", total)
	return nil
}

// writeFile replaces dst whole, so an interrupted run leaves no half file.
func writeFile(dst string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".gen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
