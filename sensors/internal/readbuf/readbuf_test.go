package readbuf

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestFill(t *testing.T) {
	buf := make([]byte, 8)
	copy(buf, "xxab")
	lo, hi := 2, 4
	var err error
	zeros := 0
	require.True(t, Fill(strings.NewReader("cdefghij"), buf, &lo, &hi, &err, &zeros))
	assert.Equal(t, "abcdefgh", string(buf[lo:hi]), "unread bytes kept, more read after them")

	lo, hi = 0, 0
	assert.True(t, Fill(strings.NewReader(""), buf, &lo, &hi, &err, &zeros) || err != nil)
	assert.ErrorIs(t, err, io.EOF)
	assert.False(t, Fill(strings.NewReader("more"), buf, &lo, &hi, &err, &zeros), "after an error, nothing more")

	err, zeros = nil, 0
	for i := 0; i < MaxZeros-1; i++ {
		require.True(t, Fill(zeroReader{}, buf, &lo, &hi, &err, &zeros))
	}
	assert.False(t, Fill(zeroReader{}, buf, &lo, &hi, &err, &zeros))
	assert.True(t, errors.Is(err, io.ErrNoProgress))
}
