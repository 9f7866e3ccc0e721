package scenes

import (
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cue kinds are switched on in several packages, most without a default
// branch that could complain. These tests make Kinds() the one list of
// them, and check that this package handles every kind in it; the engine
// and the window have tests of their own walking Kinds().

// kindConstants returns every constant of type Kind declared in the
// package's non-test files, by name, with its value.
func kindConstants(t *testing.T) map[string]Kind {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	out := map[string]Kind{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !isKindConst(vs, i) {
						continue
					}
					lit, ok := kindLiteral(vs.Values[i])
					if !ok {
						t.Errorf("%s: cannot read the value of %s; write it as %s Kind = \"...\"", fset.Position(id.Pos()), id.Name, id.Name)
						continue
					}
					out[id.Name] = Kind(lit)
				}
			}
		}
	}
	return out
}

// isKindConst says whether the i-th name of a const spec is a Kind: typed
// (KindX Kind = "x") or converted (KindX = Kind("x")).
func isKindConst(vs *ast.ValueSpec, i int) bool {
	if id, ok := vs.Type.(*ast.Ident); ok {
		return id.Name == "Kind"
	}
	if vs.Type != nil || i >= len(vs.Values) {
		return false
	}
	call, ok := vs.Values[i].(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == "Kind"
}

// kindLiteral is the string a Kind constant's value spells.
func kindLiteral(e ast.Expr) (string, bool) {
	if call, ok := e.(*ast.CallExpr); ok && len(call.Args) == 1 {
		e = call.Args[0]
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func TestKindsListsEveryKindConstant(t *testing.T) {
	consts := kindConstants(t)
	require.NotEmpty(t, consts, "found no Kind constants in the package: has the declaration's form changed?")
	kinds := Kinds()
	for name, k := range consts {
		assert.True(t, slices.Contains(kinds, k),
			"%s (%q) is missing from Kinds() in scenes/model.go: add it there, then the cue kind tests of scenes, engine and engine/window say what else to change", name, k)
	}
	declared := map[Kind]bool{}
	for _, k := range consts {
		declared[k] = true
	}
	seen := map[Kind]bool{}
	for _, k := range kinds {
		assert.True(t, declared[k], "Kinds() lists %q, which no Kind constant declares", k)
		assert.False(t, seen[k], "Kinds() lists %q twice", k)
		seen[k] = true
	}
	kinds[0] = "changed"
	assert.NotEqual(t, kinds, Kinds(), "Kinds() must return a fresh slice: callers may change theirs")
}

// TestCueKindsAreCueKeys: a kind is written as its own key in a cue.
func TestCueKindsAreCueKeys(t *testing.T) {
	for _, k := range Kinds() {
		if !slices.Contains(cueKindKeys, string(k)) || !slices.Contains(cueKeys, string(k)) {
			t.Errorf("cue kind %q is not a cue key: add %q to cueKindKeys and cueKeys in scenes/parse.go, and read its value in (*parser).cue", k, k)
		}
	}
}

// cueOfKind is one cue of each kind, as a protocol writes it (lines of the
// cue's mapping), with media from the bundled demo (assets/demo). The
// engine and window tests keep the same table.
var cueOfKind = map[Kind][]string{
	KindImage:     {"image: media/bottle.png"},
	KindSound:     {"sound: media/clink.wav"},
	KindNarration: {"narration: media/clink.wav", `subtitles: "It is Friday evening."`},
	KindText:      {`text: "Notice the urge."`},
	KindBreathing: {"breathing: 6"},
	KindPanorama:  {"panorama: media/bar_pano.png"},
	KindVideo:     {"video: media/bar.mpg"},
}

// oneCueProtocol is a protocol whose one exposure step (s1) has the cue.
func oneCueProtocol(cue []string) string {
	var b strings.Builder
	b.WriteString("cueroom: 1\ntitle: One cue\nsubstance: other\nbaseline:\n  duration: 10s\n  cues:\n    - text: Relax.\n")
	b.WriteString("steps:\n  - name: Exposure\n    intensity: 1\n    duration: 10s\n    cues:\n")
	for i, l := range cue {
		if i == 0 {
			fmt.Fprintf(&b, "      - %s\n", l)
		} else {
			fmt.Fprintf(&b, "        %s\n", l)
		}
	}
	return b.String()
}

// TestCueKindsParse: a protocol with one cue of each kind parses, its media
// check, and the cue comes out as that kind.
func TestCueKindsParse(t *testing.T) {
	demo := os.DirFS("../assets/demo")
	for _, k := range Kinds() {
		cue, ok := cueOfKind[k]
		if !ok {
			t.Errorf("cue kind %q has no test: add it to cueOfKind in scenes/cuekinds_test.go (one cue of that kind), and handle it in scenes/parse.go ((*parser).cue, checkMediaPath) and scenes/check.go", k)
			continue
		}
		t.Run(string(k), func(t *testing.T) {
			p, err := Parse("kind.yaml", []byte(oneCueProtocol(cue)), demo)
			require.NoError(t, err, "a %s cue does not parse: handle it in scenes/parse.go ((*parser).cue, checkMediaPath)", k)
			require.NoError(t, p.Check(), "a %s cue's media does not check: handle it in scenes/check.go (Protocol.Check)", k)
			require.Len(t, p.Steps, 1)
			require.Len(t, p.Steps[0].Cues, 1)
			c := p.Steps[0].Cues[0]
			assert.Equal(t, k, c.Kind, "scenes/parse.go makes a %s cue of another kind", k)
			assert.Equal(t, "s1.c1", c.ID)
		})
	}
	for k := range cueOfKind {
		assert.True(t, slices.Contains(Kinds(), k), "cueOfKind in scenes/cuekinds_test.go has %q, which Kinds() does not list", k)
	}
}

// TestCueKindsAreDocumented: FORMAT.md names every kind where it lists
// them, and shows a cue of each.
func TestCueKindsAreDocumented(t *testing.T) {
	b, err := os.ReadFile("FORMAT.md")
	require.NoError(t, err)
	doc := string(b)
	var list string
	for l := range strings.Lines(doc) {
		if strings.Contains(l, "A cue has exactly one of") {
			list = l
		}
	}
	require.NotEmpty(t, list, `scenes/FORMAT.md no longer says "A cue has exactly one of ...": update this test`)
	for _, k := range Kinds() {
		if !strings.Contains(list, "`"+string(k)+"`") {
			t.Errorf("scenes/FORMAT.md: add `%s` to the kinds listed in %q", k, strings.TrimSpace(list))
		}
		if !strings.Contains(doc, "- "+string(k)+":") {
			t.Errorf("scenes/FORMAT.md: show a %s cue (- %s: ...) in an example", k, k)
		}
	}
}

// TestEverySettingIsDocumented: each cue kind the parser reads (its
// cueKindKeys, say: included) has a section of its own in FORMAT.md
// ("### `kind`"), which names every setting that kind takes; and every key
// the parser accepts anywhere appears in FORMAT.md as "key:".
func TestEverySettingIsDocumented(t *testing.T) {
	b, err := os.ReadFile("FORMAT.md")
	require.NoError(t, err)
	doc := string(b)
	sections := map[string]string{} // kind -> its section's text
	for _, part := range strings.Split(doc, "\n### ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		if k, ok := strings.CutPrefix(strings.TrimSpace(head), "`"); ok {
			sections[strings.TrimSuffix(k, "`")] = strings.Split(body, "\n## ")[0]
		}
	}
	for _, k := range cueKindKeys {
		sec, ok := sections[k]
		if !ok {
			t.Errorf("scenes/FORMAT.md: the cue kind %q (read by scenes/parse.go) has no section; add \"### `%s`\" under \"Cue kinds, one by one\"", k, k)
			continue
		}
		kind := Kind(k)
		if k == "say" {
			kind = KindNarration
		}
		for key, kinds := range cueKeyKinds {
			if slices.Contains(kinds, kind) && !strings.Contains(sec, "`"+key+":`") {
				t.Errorf("scenes/FORMAT.md: the section of %q does not name its setting `%s:`", k, key)
			}
		}
	}
	all := [][]string{topKeys, exposureKeys, neutralKeys, ratingKeys, cueKindKeys, cueKeys,
		{"step", "session"}, {"scl_within", "hold", "craving_below", "min"}, {"at", "text"}}
	for _, keys := range all {
		for _, key := range keys {
			if !strings.Contains(doc, key+":") {
				t.Errorf("scenes/FORMAT.md never shows the setting %s: (scenes/parse.go accepts it)", key)
			}
		}
	}
}
