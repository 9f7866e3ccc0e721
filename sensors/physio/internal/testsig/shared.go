package testsig

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// root is the repository, found from this file's place so every package's
// tests reach the same folders.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
}

// SharedDir is the shared real recordings (shared/data/physio beside the
// repository); tb is skipped when they are not there.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	d := filepath.Join(root(), "..", "shared", "data", "physio")
	if _, err := os.Stat(d); err != nil {
		tb.Skipf("real recordings not found at %s (shared/ must sit beside the repository)", d)
	}
	return d
}

// SharedColumns reads the named columns (any case) of a shared recording
// with a reader of its own, so tests of the offline CSV reader do not check
// it against itself.
func SharedColumns(tb testing.TB, file string, cols ...string) [][]float64 {
	tb.Helper()
	f, err := os.Open(filepath.Join(SharedDir(tb), file))
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	require.True(tb, sc.Scan(), "%s: no header", file)
	head := strings.Split(sc.Text(), ",")
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = slices.IndexFunc(head, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), c) })
		require.GreaterOrEqual(tb, idx[i], 0, "no column %s in %s", c, file)
	}
	out := make([][]float64, len(cols))
	for sc.Scan() {
		cells := strings.Split(sc.Text(), ",")
		for i, k := range idx {
			require.Greater(tb, len(cells), k, "%s: a short line", file)
			v, err := strconv.ParseFloat(strings.TrimSpace(cells[k]), 64)
			require.NoError(tb, err, file)
			out[i] = append(out[i], v)
		}
	}
	require.NoError(tb, sc.Err())
	return out
}

// RefBeats reads a committed reference file of sensors/physio/testdata/ref
// (see make_refs.py there): the first number of each line, a 0-based
// sample index.
func RefBeats(tb testing.TB, name string) []float64 {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root(), "sensors", "physio", "testdata", "ref", name))
	require.NoError(tb, err)
	var out []float64
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fs[0], 64)
		require.NoError(tb, err, name)
		out = append(out, v)
	}
	return out
}
