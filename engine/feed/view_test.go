package feed

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestViewReachesClientsAndIsNotHistory(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	c := dial(t, s)
	readType(t, c, "hello")
	// Views are offered until the client has one: it may not be registered
	// for broadcasts the moment hello arrives.
	pic := []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}
	got := make(chan msg, 1)
	go func() {
		for {
			m := readMsg(t, c)
			if m.typ() == "view" {
				got <- m
				return
			}
		}
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	var m msg
	for m == nil {
		select {
		case m = <-got:
		case <-tick.C:
			s.SetView(2500*time.Millisecond, pic)
		case <-deadline:
			t.Fatal("no view message")
		}
	}
	assert.InDelta(t, 2.5, m["t"], 1e-9)
	b, err := base64.StdEncoding.DecodeString(m["jpeg"].(string))
	require.NoError(t, err)
	assert.Equal(t, pic, b)

	// A dashboard that connects now is not sent old pictures.
	c2 := dial(t, s)
	readType(t, c2, "hello")
	require.NoError(t, c2.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	for {
		_, b, err := c2.ReadMessage()
		if err != nil {
			break // deadline: nothing more came
		}
		assert.NotContains(t, string(b), `"type":"view"`)
	}
}
