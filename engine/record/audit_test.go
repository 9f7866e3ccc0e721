package record

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuditLinesAreWholeAndInOrder(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAudit(dir)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				a.Log(map[string]any{"what": "command", "client": g, "n": i})
			}
		}(g)
	}
	wg.Wait()
	a.Log(map[string]any{"what": "bad", "v": func() {}})
	require.NoError(t, a.Close())
	require.NoError(t, a.Err())
	a.Log(map[string]any{"what": "after close"}) // dropped, no panic

	f, err := os.Open(filepath.Join(dir, AuditFile))
	require.NoError(t, err)
	defer f.Close()
	last := map[float64]float64{}
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %d: %s", lines+1, sc.Text())
		assert.NotEmpty(t, e["wall"])
		if e["what"] == "command" {
			c, n := e["client"].(float64), e["n"].(float64)
			if prev, ok := last[c]; ok {
				assert.Equal(t, prev+1, n, "each writer's entries in order")
			}
			last[c] = n
		}
		lines++
	}
	assert.Equal(t, 101, lines, "100 entries and one unencodable, noted")
}
