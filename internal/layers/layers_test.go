// Package layers checks the import graph against the architecture: data
// flows one way (bytes → samples → signals → bus → engine), and no package
// imports a layer above it.
package layers

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const mod = "github.com/cueroom/cueroom/"

// rules: a package (prefix match, most specific first) may import only the
// module's packages listed for it (prefix match); the standard library and
// third-party modules are not checked here.
var rules = []struct {
	pkg   string
	allow []string
}{
	{"event", []string{"event"}},          // the vocabulary: a leaf (eventtest builds on it)
	{"scenes", nil},                       // protocol model: a leaf
	{"assets", nil},                       // bundled files
	{"internal/", nil},                    // test helpers
	{"lsl", []string{"lsl"}},              // the Lab Streaming Layer protocol: a leaf (lsltest builds on it)
	{"bus", []string{"event", "sensors"}}, // below sensors' stages and the engine
	{"sensors", []string{"sensors", "bus", "event", "internal/", "lsl"}},
	{"engine", []string{"engine", "sensors", "bus", "event", "scenes", "assets", "internal/", "lsl"}},
	{"hub", []string{"hub", "bus", "event", "sensors", "internal/"}}, // stations and the hub (NATS): below cmd, beside engine
	{"cmd/", []string{""}},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestNoUpwardImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	require.NoError(t, err, "go list")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		seen++
		name := strings.TrimPrefix(p.ImportPath, mod)
		allow, ok := allowed(name)
		if !ok {
			t.Errorf("%s: no layering rule covers it: add one to internal/layers", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			if !hasPrefix(dep, allow) {
				t.Errorf("%s imports %s: a layer it must not depend on", name, dep)
			}
		}
	}
	require.Greater(t, seen, 20, "go list found the module's packages")
}

func allowed(name string) ([]string, bool) {
	for _, r := range rules {
		if name == strings.TrimSuffix(r.pkg, "/") || strings.HasPrefix(name, strings.TrimSuffix(r.pkg, "/")+"/") {
			return r.allow, true
		}
	}
	return nil, false
}

func hasPrefix(dep string, allow []string) bool {
	for _, a := range allow {
		a = strings.TrimSuffix(a, "/")
		if a == "" || dep == a || strings.HasPrefix(dep, a+"/") {
			return true
		}
	}
	return false
}
