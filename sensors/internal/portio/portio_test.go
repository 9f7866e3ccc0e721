package portio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type port struct {
	name string
	dl   []time.Time
}

func (p *port) Name() string                      { return p.name }
func (p *port) SetReadDeadline(t time.Time) error { p.dl = append(p.dl, t); return nil }

func TestNameAndDeadline(t *testing.T) {
	p := &port{name: "/dev/ttyUSB0"}
	assert.Equal(t, "/dev/ttyUSB0", Name(p))
	assert.Equal(t, "the port", Name(&port{}))
	assert.Equal(t, "the port", Name(42))

	at := time.Unix(100, 0)
	clear := Deadline(p, at)
	assert.Equal(t, []time.Time{at}, p.dl)
	clear()
	assert.Equal(t, []time.Time{at, {}}, p.dl, "cleared again")
	Deadline(42, at)() // a port without deadlines: nothing happens, nothing panics
}
