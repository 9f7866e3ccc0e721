package archive

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSafePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"data.rec": true, "exports/bids/x.json": true, "": false, "/etc/passwd": false, "../x": false,
		"a/../../x": false, "a//b": false, "a/./b": false, "a\\b": false, "a/": false, ".": false, "..": false,
	} {
		assert.Equal(t, ok, SafePath(p), "%q", p)
	}
}

func TestParseManifest(t *testing.T) {
	good := Manifest{Format: manifestFormat, Site: "clinic", Station: "room1", Session: "s1",
		Files: []File{{Path: "data.rec", Size: 3, SHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}}
	b, _ := json.Marshal(good)
	m, err := ParseManifest(b)
	require.NoError(t, err)
	assert.Equal(t, good.Files, m.Files)
	for name, mod := range map[string]func(*Manifest){
		"escape":    func(m *Manifest) { m.Files[0].Path = "../../x" },
		"dup":       func(m *Manifest) { m.Files = append(m.Files, m.Files[0]) },
		"negative":  func(m *Manifest) { m.Files[0].Size = -1 },
		"no digest": func(m *Manifest) { m.Files[0].SHA256 = "zz" },
		"session":   func(m *Manifest) { m.Session = ".." },
		"station":   func(m *Manifest) { m.Station = "a.b" },
		"format":    func(m *Manifest) { m.Format = "x" },
	} {
		bad := good
		bad.Files = append([]File(nil), good.Files...)
		mod(&bad)
		b, _ := json.Marshal(bad)
		_, err := ParseManifest(b)
		assert.Error(t, err, name)
	}
}

func TestResolve(t *testing.T) {
	es := []Entry{{Site: "a", Station: "r1", Session: "s1"}, {Site: "b", Station: "r1", Session: "s1"}, {Site: "a", Station: "r2", Session: "s2"}}
	e, err := Resolve(es, "s2")
	require.NoError(t, err)
	assert.Equal(t, "a/r2/s2", e.ID())
	_, err = Resolve(es, "r1/s1")
	assert.ErrorContains(t, err, "names 2 sessions")
	e, err = Resolve(es, "b/r1/s1")
	require.NoError(t, err)
	assert.Equal(t, "b", e.Site)
	_, err = Resolve(es, "x")
	assert.ErrorContains(t, err, "no session")
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"cueroom-archive/1","site":"a","station":"b","session":"s","files":[{"path":"x","size":1,"sha256":"00"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, fl := range m.Files {
			if !SafePath(fl.Path) {
				t.Fatalf("accepted unsafe path %q", fl.Path)
			}
		}
	})
}

func TestWriteList(t *testing.T) {
	var b strings.Builder
	require.NoError(t, WriteList(&b, []Entry{{Site: "clinic", Station: "room1", Session: "s1", Start: time.Date(2026, 12, 6, 13, 6, 42, 0, time.UTC), Size: 3 << 20, Files: 4}}))
	assert.Contains(t, b.String(), "clinic/room1  clinic/room1/s1")
	assert.Contains(t, b.String(), "3.0 MiB")
}
