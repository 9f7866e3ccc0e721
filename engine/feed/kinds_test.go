package feed

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/feed/internal/kindsjs"
	"github.com/cueroom/cueroom/event"
)

// TestKindsJSUpToDate: the kinds.js the page loads is what package event
// says today.
func TestKindsJSUpToDate(t *testing.T) {
	want, err := kindsjs.Generate()
	require.NoError(t, err, "then run go generate ./engine/feed")
	got := mustRead("web/kinds.js")
	if string(got) == string(want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	i := 0
	for i < min(len(gl), len(wl)) && gl[i] == wl[i] {
		i++
	}
	line := func(ls []string) string {
		if i < len(ls) {
			return ls[i]
		}
		return "(end of file)"
	}
	t.Fatalf("web/kinds.js is stale: run go generate ./engine/feed\nline %d is\n\t%s\nand should be\n\t%s", i+1, line(gl), line(wl))
}

// TestAppJSKinds: app.js names only kinds that exist, names them through
// kinds.js, and does what kindsjs says with each kind of event.Kinds().
func TestAppJSKinds(t *testing.T) {
	assert.Empty(t, checkAppKinds(string(mustRead("web/app.js"))))
}

// TestCheckAppKinds: the check above catches each way app.js and Go can
// disagree.
func TestCheckAppKinds(t *testing.T) {
	// handling is app.js's part for every Handled kind.
	var handling strings.Builder
	for _, k := range event.Kinds() {
		if kindsjs.UseOf(k) == kindsjs.Handled {
			fmt.Fprintf(&handling, "      case K.%s: break;\n", kindsjs.Name(k))
		}
	}
	page := func(extra string) string {
		return "function onEvent(m) {\n    switch (m.kind) {\n" + handling.String() + extra + "    }\n}\n"
	}
	require.Empty(t, checkAppKinds(page("")), "the complete page")
	require.Empty(t, checkAppKinds(page(`      // a comment may say K.NOPE or case "nope":`+"\n"+
		`      default: if (m.type === "stream" && m.kind === "derived") log("case 'x': K.NOPE");`+"\n")))

	tests := []struct {
		name, src, want string
	}{
		{"unknown constant", page("      case K.STEP_STRAT: break;\n"), "K.STEP_STRAT, which is not a kind"},
		{"string case", page("      case \"gap\": break;\n"), `the kind "gap" as a string: name it K.GAP`},
		{"unknown string case", page("      case 'step_strat': break;\n"), `"step_strat", which is not in event.Kinds()`},
		{"string comparison", page("") + `if (m.kind !== "look") list(m);`, `the kind "look" as a string: name it K.LOOK`},
		{"reversed comparison", page("") + `if ("lok" == ev.kind) list(m);`, `"lok", which is not in event.Kinds()`},
		{"log-only kind handled", page("      case K.DEVICE: break;\n"), `"device" (K.DEVICE), but kindsjs says the page only logs it`},
		{"unlisted kind handled", page("      case K.LOOK: break;\n"), `"look" (K.LOOK), but kindsjs says the page does not list it`},
		{"handled kind forgotten", strings.Replace(page(""), "case K.ALERT: break;", "", 1), `never names K.ALERT`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkAppKinds(tt.src)
			require.Len(t, got, 1, "%q", got)
			assert.Contains(t, got[0], tt.want)
		})
	}
}

// notEventKinds are the strings app.js may compare a "kind" field with that
// are not event kinds: a stream's device kind.
var notEventKinds = map[string]bool{"derived": true}

var (
	kindRef    = regexp.MustCompile(`\bK\.([A-Za-z_$][\w$]*)`)
	kindSwitch = regexp.MustCompile(`switch\s*\(\s*[\w$.]*\bkind\s*\)\s*\{`)
	caseLabel  = regexp.MustCompile(`\bcase\s+("[^"\\]*"|'[^'\\]*')\s*:`)
	kindCmp    = regexp.MustCompile(`\.kind\s*[!=]==?\s*("[^"\\]*"|'[^'\\]*')|("[^"\\]*"|'[^'\\]*')\s*[!=]==?\s*[\w$.]*\.kind\b`)
)

// checkAppKinds lists where app.js (src) and Go disagree about event kinds.
func checkAppKinds(src string) []string {
	code, blank := jsCode(src)
	var problems []string
	named := map[string]bool{}
	for _, m := range kindRef.FindAllStringSubmatchIndex(blank, -1) {
		named[code[m[2]:m[3]]] = true
	}
	byName := map[string]event.Kind{}
	for _, k := range event.Kinds() {
		byName[kindsjs.Name(k)] = k
	}
	for _, n := range slices.Sorted(maps.Keys(named)) {
		if _, ok := byName[n]; !ok {
			problems = append(problems, fmt.Sprintf("app.js names K.%s, which is not a kind of event.Kinds() (kinds.js)", n))
		}
	}
	literal := func(q string) {
		s := q[1 : len(q)-1]
		switch {
		case event.Known(event.Kind(s)):
			problems = append(problems, fmt.Sprintf("app.js writes the kind %q as a string: name it K.%s (kinds.js)", s, kindsjs.Name(event.Kind(s))))
		case !notEventKinds[s]:
			problems = append(problems, fmt.Sprintf("app.js compares a kind with %q, which is not in event.Kinds()", s))
		}
	}
	// String labels in a switch on a kind, found in the blanked text so
	// braces in strings do not count.
	for _, m := range kindSwitch.FindAllStringIndex(blank, -1) {
		end := matchBrace(blank, m[1]-1)
		for _, c := range caseLabel.FindAllStringSubmatchIndex(blank[m[1]:end], -1) {
			literal(code[m[1]+c[2] : m[1]+c[3]])
		}
	}
	for _, m := range kindCmp.FindAllStringSubmatchIndex(blank, -1) {
		if m[2] >= 0 {
			literal(code[m[2]:m[3]])
		} else {
			literal(code[m[4]:m[5]])
		}
	}
	for _, k := range event.Kinds() {
		n := kindsjs.Name(k)
		switch use := kindsjs.UseOf(k); {
		case use == kindsjs.Handled && !named[n]:
			problems = append(problems, fmt.Sprintf("kindsjs says app.js handles %q, but app.js never names K.%s: handle it, or make it LogOnly or Unlisted in engine/feed/internal/kindsjs", k, n))
		case use == kindsjs.LogOnly && named[n]:
			problems = append(problems, fmt.Sprintf("app.js handles %q (K.%s), but kindsjs says the page only logs it: make it Handled in engine/feed/internal/kindsjs", k, n))
		case use == kindsjs.Unlisted && named[n]:
			problems = append(problems, fmt.Sprintf("app.js handles %q (K.%s), but kindsjs says the page does not list it: make it Handled in engine/feed/internal/kindsjs", k, n))
		case use == 0:
			problems = append(problems, fmt.Sprintf("kindsjs does not say what the page does with %q", k))
		}
	}
	return problems
}

// jsCode returns src with comments turned into spaces (code), and the same
// with the inside of every string literal turned into '_' (blank); both have
// src's length, so offsets agree. It knows strings and comments, which is
// all app.js has (no regular expression or template literals).
func jsCode(src string) (code, blank string) {
	c, b := []byte(src), []byte(src)
	for i := 0; i < len(c); i++ {
		switch {
		case c[i] == '/' && i+1 < len(c) && c[i+1] == '/':
			for ; i < len(c) && c[i] != '\n'; i++ {
				c[i], b[i] = ' ', ' '
			}
		case c[i] == '/' && i+1 < len(c) && c[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 4
			}
			for j := i; j < i+end+4; j++ {
				if c[j] != '\n' {
					c[j], b[j] = ' ', ' '
				}
			}
			i += end + 3
		case c[i] == '"' || c[i] == '\'' || c[i] == '`':
			q := c[i]
			for i++; i < len(c) && c[i] != q && c[i] != '\n'; i++ {
				if c[i] == '\\' && i+1 < len(c) {
					b[i] = '_'
					i++
				}
				b[i] = '_'
			}
		}
	}
	return string(c), string(b)
}

// matchBrace returns the index of the brace closing the one at open.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}
