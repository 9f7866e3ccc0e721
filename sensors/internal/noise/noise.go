// Package noise is the test input the decoders share for issue #12's "noise
// on the serial line became data": seconds of random bytes at a line's byte
// rate, and a count of what a decoder makes of them.
package noise

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cueroom/cueroom/sensors"
)

// Seed is the fixed seed of Bytes, so a failure reproduces.
const Seed = 12

// LineBytes is how many bytes a serial line at baud (8N1: ten bits a byte)
// carries in secs seconds: the most noise a decoder can be fed in that time.
func LineBytes(baud int, secs float64) int { return int(float64(baud) / 10 * secs) }

// Bytes returns n pseudo-random bytes from seed (math/rand/v2 PCG).
func Bytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Result is what a decoder made of the noise.
type Result struct {
	Bytes   int    // bytes fed
	Samples int    // samples yielded: 0 is right
	Dropped uint64 // Decoder.Dropped at the end
}

// Decode feeds b to the decoder newDecoder makes and runs it to its end.
// Decoders that return another error than io.EOF (a line protocol whose
// lines cannot fit the configuration) end the count there.
func Decode(t testing.TB, b []byte, newDecoder func(io.Reader) sensors.Decoder) Result {
	t.Helper()
	dec := newDecoder(bytes.NewReader(b))
	res := Result{Bytes: len(b)}
	for range len(b) + 1 {
		_, err := dec.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("decoder ended with %v", err)
			}
			res.Dropped = dec.Dropped()
			t.Logf("%d bytes of noise: %d samples, %d bytes dropped", res.Bytes, res.Samples, res.Dropped)
			return res
		}
		res.Samples++
	}
	t.Fatal("the decoder yields more samples than it was given bytes")
	return res
}
