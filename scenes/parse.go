package scenes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxSourceBytes bounds the protocol file: real ones are a few kilobytes, and
// the bound keeps a wrong file (a video, a disk image) from being parsed.
const maxSourceBytes = 1 << 20

// Keys accepted at each level. Everything else is an error, so a typo never
// silently drops a setting.
var (
	topKeys      = []string{"cueroom", "title", "substance", "description", "limits", "crossfade", "baseline", "steps", "recovery"}
	exposureKeys = []string{"id", "name", "intensity", "neutral", "duration", "crossfade", "cues", "rating", "end_when"}
	neutralKeys  = []string{"id", "name", "intensity", "duration", "crossfade", "cues", "rating"}
	ratingKeys   = []string{"scale", "question", "at", "every"}
	cueKindKeys  = []string{"image", "sound", "narration", "say", "text", "breathing", "panorama", "video"}
	cueKeys      = []string{"id", "image", "sound", "narration", "say", "voice", "text", "breathing", "panorama", "video", "fov", "yaw", "zoom", "pan", "fit", "loop", "end", "gain", "fade_in", "fade_out", "subtitles", "description", "personalised"}
	// cueKeyKinds says which cue kinds accept an optional key; keys not listed
	// are accepted by every kind.
	cueKeyKinds = map[string][]Kind{
		"fit":       {KindImage, KindVideo},
		"zoom":      {KindImage},
		"pan":       {KindImage},
		"fov":       {KindPanorama},
		"yaw":       {KindPanorama},
		"loop":      {KindSound, KindVideo},
		"end":       {KindVideo},
		"gain":      {KindSound, KindNarration, KindVideo},
		"fade_in":   {KindSound, KindNarration},
		"fade_out":  {KindSound, KindNarration},
		"subtitles": {KindNarration},
		"voice":     {KindNarration},
	}
)

var (
	imageExts = []string{".png", ".jpg", ".jpeg"}
	videoExts = []string{".mpg", ".mpeg"}
	audioExts = []string{".wav", ".mp3", ".ogg", ".flac"}
	idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Parse reads a protocol from src. file names it in messages; fsys is where
// its media files are (it may be nil when only the text is checked: Parse
// never opens media, Check does). All problems are returned together as an
// ErrorList; on error the Protocol is nil.
func Parse(file string, src []byte, fsys fs.FS) (*Protocol, error) {
	c := &collector{file: file}
	p := parse(c, file, src, fsys)
	if err := c.result(); err != nil {
		return nil, err
	}
	return p, nil
}

// parse reads what it can of a protocol, reporting every problem into c:
// the Protocol holds what parsed (nil when the file is not YAML at all).
func parse(c *collector, file string, src []byte, fsys fs.FS) *Protocol {
	if len(src) > maxSourceBytes {
		c.add(0, 0, nil, "the file is %d KB, but a protocol is a few KB of text; check that this is the protocol file (the limit is %d KB)",
			len(src)/1024, maxSourceBytes/1024)
		return nil
	}
	root := decodeYAML(c, src)
	if root == nil {
		return nil
	}
	p := &Protocol{File: file, FS: fsys, Source: bytes.Clone(src)}
	ps := &parser{c: c}
	ps.protocol(root, p)
	return p
}

// decodeYAML parses src into one YAML document and returns its top node, or
// nil after reporting why it could not.
func decodeYAML(c *collector, src []byte) *yaml.Node {
	if len(bytes.TrimSpace(src)) == 0 {
		c.add(0, 0, nil, "the file is empty; a protocol starts with the line: cueroom: 1")
		return nil
	}
	if !bytes.HasPrefix(src, []byte{0xFF, 0xFE}) && !bytes.HasPrefix(src, []byte{0xFE, 0xFF}) && !utf8.Valid(src) {
		// The YAML library reports this without a line; find it ourselves.
		// (UTF-16 files, with their byte order mark, are left to the library.)
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		line, col := position(src, off)
		c.add(line, col, nil, "byte %d (0x%02X) is not UTF-8 text; the file was probably saved in another encoding (such as Latin-1 or Windows-1252): save it again as UTF-8 from your editor",
			off+1, src[off])
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.add(0, 0, nil, "the file has only comments; a protocol starts with the line: cueroom: 1")
		} else {
			yamlError(c, src, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		yamlError(c, src, err)
		return nil
	default:
		c.add(extra.Line, 0, nil, "a second YAML document starts here (a line with --- separates documents), but a protocol file holds one protocol: remove the --- line, or split the file in two")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		c.add(doc.Line, 0, nil, "the file is not a protocol; a protocol starts with the line: cueroom: 1")
		return nil
	}
	return doc.Content[0]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into a file:line error with a hint
// for the mistakes people make when writing YAML by hand.
func yamlError(c *collector, src []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	hint := "check the indentation and the colons on this line and the one before"
	// The library's line for a tab may be the line before the tab's.
	tabLine := 0
	for l := line; l > 0 && l <= line+1 && tabLine == 0; l++ {
		if bytes.Contains(srcLine(src, l), []byte("\t")) {
			tabLine = l
		}
	}
	switch {
	case tabLine > 0 && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token") || strings.Contains(msg, "indentation")):
		line = tabLine
		hint = "this line contains a tab; YAML needs spaces for indentation: replace the tab with spaces"
	case strings.Contains(msg, "mapping values are not allowed"):
		hint = "if a text on this line contains a colon (:), put the whole text in double quotes"
	case strings.Contains(msg, "could not find expected ':'"):
		hint = "a setting is missing its colon, as in duration: 30s; or a text in quotes is not closed"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-'"):
		hint = "this line is not indented like the lines around it; line it up with its neighbours"
	case strings.Contains(msg, "found unexpected end of stream"), strings.Contains(msg, "found unknown escape"):
		hint = "a text in quotes is not closed, or contains a backslash (\\); close the quotes, and write a backslash as \\\\"
	case strings.Contains(msg, "invalid leading UTF-8") || strings.Contains(msg, "invalid trailing UTF-8") || strings.Contains(msg, "control characters"):
		hint = "the file is not plain UTF-8 text; save it again as UTF-8 from your editor"
	case strings.Contains(msg, "already defined"):
		hint = "each setting may appear only once here; remove one of them"
	}
	c.add(line, 0, err, "the file is not valid YAML: %s; %s", msg, hint)
}

// srcLine returns line n (1-based) of src, or nil.
func srcLine(src []byte, n int) []byte {
	if n < 1 {
		return nil
	}
	for i := 1; i < n; i++ {
		_, rest, ok := cutLine(src)
		if !ok {
			return nil
		}
		src = rest
	}
	line, _, _ := cutLine(src)
	return line
}

// cutLine splits off the first line. Like YAML, it takes \n, \r\n and a
// lone \r (old Mac files) as line ends, so line numbers agree with its own.
func cutLine(src []byte) (line, rest []byte, found bool) {
	i := bytes.IndexAny(src, "\r\n")
	if i < 0 {
		return src, nil, false
	}
	if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
		return src[:i], src[i+2:], true
	}
	return src[:i], src[i+1:], true
}

// position gives the 1-based line and column (in characters) of byte off.
func position(src []byte, off int) (line, col int) {
	line, start := 1, 0
	for {
		_, rest, ok := cutLine(src[start:])
		next := len(src) - len(rest)
		if !ok || next > off {
			break
		}
		line, start = line+1, next
	}
	return line, 1 + utf8.RuneCount(src[start:off])
}

// parser walks the YAML tree of one protocol, reporting into c.
type parser struct {
	c         *collector
	crossfade time.Duration // the protocol's, for steps without their own
	ids       []idUse
	typos     map[*yaml.Node][]string // mapping -> allowed keys suggested for misspelt ones
}

// typo reports whether key was suggested for a misspelt key in mapping n, so
// "did you mean duration?" is not followed by "needs a duration".
func (ps *parser) typo(n *yaml.Node, key string) bool {
	return slices.Contains(ps.typos[n], key)
}

// idUse records where an id was given (or derived), to report duplicates.
type idUse struct {
	id      string
	what    string // "step 2 \"Bottle\"", "cue 1 of the baseline"
	line    int
	col     int
	derived bool
}

// field is one key: value pair of a mapping.
type field struct{ key, val *yaml.Node }

func (ps *parser) errAt(n *yaml.Node, format string, args ...any) {
	ps.c.add(n.Line, n.Column, nil, format, args...)
}

// mapping checks that n is a mapping holding only allowed keys, each once.
// It returns nil (after reporting) when n is not a mapping.
func (ps *parser) mapping(n *yaml.Node, where string, allowed []string, hint func(key string) string) map[string]field {
	if n.Kind == yaml.AliasNode {
		ps.errAt(n, "%s uses a YAML alias (*%s); aliases are not supported in protocols: write the settings out in full", where, n.Value)
		return nil
	}
	if n.Kind != yaml.MappingNode || n.ShortTag() != "!!map" {
		ps.errAt(n, "%s should be a group of settings (lines like name: value, indented under it), but it is %s", where, describe(n))
		return nil
	}
	m := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errAt(k, "%s: a setting name must be a plain word such as duration, but here it is %s", where, describe(k))
			continue
		}
		if k.Value == "<<" {
			ps.errAt(k, "%s: YAML merge keys (<<) are not supported in protocols; write the settings out in full", where)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			msg := fmt.Sprintf("%s: unknown setting %q", where, k.Value)
			if s := suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
				if ps.typos == nil {
					ps.typos = map[*yaml.Node][]string{}
				}
				ps.typos[n] = append(ps.typos[n], s)
			} else if hint != nil && hint(k.Value) != "" {
				msg += "; " + hint(k.Value)
			} else {
				msg += fmt.Sprintf(" (the settings allowed here are: %s)", strings.Join(allowed, ", "))
			}
			ps.errAt(k, "%s", msg)
			continue
		}
		if prev, dup := m[k.Value]; dup {
			ps.errAt(k, "%s: %s is given twice (first on line %d); keep only one", where, k.Value, prev.key.Line)
			continue
		}
		m[k.Value] = field{k, v}
	}
	return m
}

// describe names what a YAML node holds, for "but it is ..." messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a group of settings"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a YAML alias (*" + n.Value + ")"
	}
	switch n.ShortTag() {
	case "!!null":
		return "empty"
	case "!!str":
		return fmt.Sprintf("the text %q", clip(n.Value))
	case "!!int", "!!float":
		return "the number " + clip(n.Value)
	case "!!bool":
		return "the word " + n.Value
	}
	return fmt.Sprintf("%q", clip(n.Value))
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:40]) + "..."
}

// scalar checks that f holds a single value. Empty values count as absent.
func (ps *parser) scalar(f field, where string) (*yaml.Node, bool) {
	n := f.val
	switch {
	case n.Kind == yaml.AliasNode:
		ps.errAt(n, "%s: %s uses a YAML alias (*%s); aliases are not supported in protocols: write the value out", where, f.key.Value, n.Value)
		return nil, false
	case n.Kind != yaml.ScalarNode:
		ps.errAt(n, "%s: %s should be a single value, but it is %s", where, f.key.Value, describe(n))
		return nil, false
	case strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!"):
		ps.errAt(n, "%s: %s has the YAML tag %s, which protocols do not use; remove it", where, f.key.Value, n.Tag)
		return nil, false
	}
	return n, true
}

// text reads a free text value. Any plain value is accepted (a title may be a
// year); empty or missing gives "".
func (ps *parser) text(m map[string]field, key, where string) (string, *yaml.Node) {
	f, ok := m[key]
	if !ok {
		return "", nil
	}
	n, ok := ps.scalar(f, where)
	if !ok || n.ShortTag() == "!!null" {
		return "", f.key
	}
	v := strings.TrimSpace(n.Value)
	if utf8.RuneCountInString(v) > maxTextRunes {
		ps.errAt(n, "%s: %s is %d characters long; keep it under %d", where, key, utf8.RuneCountInString(v), maxTextRunes)
	}
	return v, n
}

// need reports a missing or empty required setting and returns whether it
// has a value; example shows the fix.
func (ps *parser) need(m map[string]field, key string, parent *yaml.Node, where, example string) bool {
	f, ok := m[key]
	if !ok {
		if !ps.typo(parent, key) {
			ps.errAt(parent, "%s needs a %s; add a line like %s", where, key, example)
		}
		return false
	}
	if v := f.val; v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!null" || strings.TrimSpace(v.Value) == "") {
		ps.errAt(f.key, "%s: %s is empty; write it like %s", where, key, example)
		return false
	}
	return true
}

// choice reads a value from a fixed set (case-insensitive, stored lower case).
func (ps *parser) choice(m map[string]field, key, where string, options []string) (string, *yaml.Node) {
	v, n := ps.text(m, key, where)
	if v == "" {
		return "", n
	}
	lv := strings.ToLower(v)
	if !slices.Contains(options, lv) {
		ps.errAt(n, "%s: %s %q is not one of %s", where, key, clip(v), orList(options))
		return "", n
	}
	return lv, n
}

// integer reads a whole number; ok is false when absent or wrong.
func (ps *parser) integer(m map[string]field, key, where string) (v int, n *yaml.Node, ok bool) {
	f, present := m[key]
	if !present {
		return 0, nil, false
	}
	n, good := ps.scalar(f, where)
	if !good {
		return 0, f.val, false
	}
	var i int64
	if n.ShortTag() != "!!int" || n.Decode(&i) != nil || i < math.MinInt32 || i > math.MaxInt32 {
		ps.errAt(n, "%s: %s should be a whole number such as 3, but it is %s", where, key, describe(n))
		return 0, n, false
	}
	return int(i), n, true
}

// number reads a decimal number.
func (ps *parser) number(m map[string]field, key, where string) (v float64, n *yaml.Node, ok bool) {
	f, present := m[key]
	if !present {
		return 0, nil, false
	}
	n, good := ps.scalar(f, where)
	if !good {
		return 0, f.val, false
	}
	tag := n.ShortTag()
	if (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		ps.errAt(n, "%s: %s should be a number such as -6, but it is %s", where, key, describe(n))
		return 0, n, false
	}
	return v, n, true
}

// boolean reads true or false.
func (ps *parser) boolean(m map[string]field, key, where string) (v bool, n *yaml.Node) {
	f, present := m[key]
	if !present {
		return false, nil
	}
	n, good := ps.scalar(f, where)
	if !good {
		return false, f.val
	}
	if n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		ps.errAt(n, "%s: %s should be true or false, but it is %s", where, key, describe(n))
		return false, n
	}
	return v, n
}

// duration reads a Go duration ("30s", "1m30s") or plain seconds ("30",
// "2.5"). zeroOK allows 0 (fades); steps must last longer than 0.
func (ps *parser) duration(m map[string]field, key, where string, zeroOK bool) (d time.Duration, n *yaml.Node, ok bool) {
	f, present := m[key]
	if !present {
		return 0, nil, false
	}
	n, good := ps.scalar(f, where)
	if !good {
		return 0, f.val, false
	}
	const how = "write it like 30s, 1m30s or 90 (seconds)"
	switch n.ShortTag() {
	case "!!int", "!!float":
		var secs float64
		if n.Decode(&secs) != nil || math.IsNaN(secs) {
			ps.errAt(n, "%s: %s %q is not understood; %s", where, key, clip(n.Value), how)
			return 0, n, false
		}
		if secs > maxDuration.Seconds() { // checked before converting, which could overflow
			ps.errAt(n, "%s: %s %s seconds is longer than the limit of %s; split it into shorter steps", where, key, clip(n.Value), fmtDur(maxDuration))
			return 0, n, false
		}
		d = time.Duration(secs * float64(time.Second))
		if secs < 0 {
			d = -1 // reported below; avoids rounding a tiny negative to 0
		}
	case "!!str":
		var err error
		d, err = time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil {
			ps.errAt(n, "%s: %s %q is not understood; %s", where, key, clip(n.Value), how)
			return 0, n, false
		}
	case "!!null":
		ps.errAt(n, "%s: %s is empty; %s", where, key, how)
		return 0, n, false
	default:
		ps.errAt(n, "%s: %s should be a duration, but it is %s; %s", where, key, describe(n), how)
		return 0, n, false
	}
	switch {
	case d < 0 || (d == 0 && !zeroOK):
		ps.errAt(n, "%s: %s must be more than 0; %s", where, key, how)
		return 0, n, false
	case d > maxDuration:
		ps.errAt(n, "%s: %s %s is longer than the limit of %s; split it into shorter steps", where, key, fmtDur(d), fmtDur(maxDuration))
		return 0, n, false
	}
	return d, n, true
}

// protocol walks the top-level mapping into p.
func (ps *parser) protocol(root *yaml.Node, p *Protocol) {
	const where = "the protocol"
	// The version decides how to read everything else, so check it first and
	// stop on a version we do not know rather than list irrelevant problems.
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k, v := root.Content[i], root.Content[i+1]; k.Value == "cueroom" && v.Kind == yaml.ScalarNode {
				var ver int64
				if v.ShortTag() != "!!int" || v.Decode(&ver) != nil {
					ps.errAt(v, "cueroom: gives the protocol format and must be the number %d, not %s", Version, describe(v))
					return
				}
				if ver != Version {
					ps.errAt(v, "this protocol is written for cueroom format %d, but this cueroom reads format %d; use a cueroom that reads format %d, or change it to cueroom: %d if the file is really format %d",
						ver, Version, ver, Version, Version)
					return
				}
				p.Version = Version
				break
			}
		}
	}
	m := ps.mapping(root, where, topKeys, func(key string) string {
		switch {
		case slices.Contains(exposureKeys, key):
			return key + " belongs inside a step (under steps:, baseline: or recovery:); indent it to line up with that step's other settings"
		case slices.Contains(cueKeys, key):
			return key + " belongs inside a cue (under cues:); indent it to line up with that cue's other settings"
		}
		return ""
	})
	if m == nil {
		return
	}
	if f, present := m["cueroom"]; !present {
		ps.errAt(root, "the protocol must say which format it uses: add the line cueroom: %d at the top", Version)
	} else if p.Version == 0 {
		ps.scalar(f, where) // a list or alias: report it
	}
	if ps.need(m, "title", root, where, `title: "Alcohol cue exposure"`) {
		p.Title, _ = ps.text(m, "title", where)
	}
	if ps.need(m, "substance", root, where, "substance: alcohol (one of "+strings.Join(substances, ", ")+")") {
		p.Substance, _ = ps.choice(m, "substance", where, substances)
	}
	p.Description, _ = ps.text(m, "description", where)
	if f, ok := m["limits"]; ok {
		lm := ps.mapping(f.val, "limits", []string{"step", "session"}, nil)
		if lm != nil {
			p.MaxStep, _, _ = ps.duration(lm, "step", "limits", false)
			p.MaxExposure, _, _ = ps.duration(lm, "session", "limits", false)
		}
	}

	p.Crossfade = DefaultCrossfade
	if d, _, ok := ps.crossfadeOf(m, where); ok {
		p.Crossfade = d
	}
	ps.crossfade = p.Crossfade

	if f, ok := m["baseline"]; ok {
		p.Baseline = ps.step(f.val, roleBaseline, 0, "the baseline")
	} else if !ps.typo(root, "baseline") {
		ps.errAt(root, "the protocol needs a baseline: a neutral step played before exposure; add baseline: with a name, a duration and cues")
	}

	if f, ok := m["steps"]; ok {
		p.Steps = ps.steps(f)
	} else if !ps.typo(root, "steps") {
		ps.errAt(root, "the protocol needs steps: the list of exposure steps, from low to high intensity")
	}

	if f, ok := m["recovery"]; ok && f.val.ShortTag() != "!!null" {
		r := ps.step(f.val, roleRecovery, 0, "the recovery step")
		p.Recovery = &r
	}
	ps.checkOrder(p.Steps)
	ps.checkIDs()
}

func (ps *parser) steps(f field) []Step {
	seq := f.val
	if seq.Kind != yaml.SequenceNode {
		ps.errAt(seq, "steps should be a list, with each step starting with - on its own line, but it is %s", describe(seq))
		return nil
	}
	if len(seq.Content) == 0 {
		ps.errAt(seq, "steps is empty; add at least one exposure step")
		return nil
	}
	if len(seq.Content) > maxSteps {
		ps.errAt(seq, "there are %d steps; a protocol has at most %d", len(seq.Content), maxSteps)
		return nil
	}
	steps := make([]Step, 0, len(seq.Content))
	for i, n := range seq.Content {
		steps = append(steps, ps.step(n, roleExposure, i+1, fmt.Sprintf("step %d", i+1)))
	}
	return steps
}

type role int

const (
	roleBaseline role = iota
	roleExposure
	roleRecovery
)

// step walks one step. index is 1-based for exposure steps.
func (ps *parser) step(n *yaml.Node, r role, index int, where string) Step {
	s := Step{Line: n.Line, Neutral: r != roleExposure}
	allowed := neutralKeys
	if r == roleExposure {
		allowed = exposureKeys
	}
	if name := peekName(n); name != "" {
		where = fmt.Sprintf("%s %q", where, clip(name)) // so every message names the step
	}
	m := ps.mapping(n, where, allowed, func(key string) string {
		if slices.Contains(cueKeys, key) {
			return key + " is a cue: put it in the step's cues: list, as - " + key + ": ..."
		}
		if key == "neutral" {
			return "baseline and recovery are always neutral; remove this line"
		}
		return ""
	})
	if m == nil {
		return s
	}
	if r != roleExposure || ps.need(m, "name", n, where, "name: Bottle on a table") {
		s.Name, _ = ps.text(m, "name", where)
	}
	switch r {
	case roleBaseline:
		s.ID = "baseline"
		if s.Name == "" {
			s.Name = "Baseline"
		}
	case roleRecovery:
		s.ID = "recovery"
		if s.Name == "" {
			s.Name = "Recovery"
		}
	default:
		s.ID = "s" + strconv.Itoa(index)
		s.Neutral, _ = ps.boolean(m, "neutral", where)
	}
	ps.id(m, where, &s.ID, n)

	intensity, in, ok := ps.integer(m, "intensity", where)
	switch {
	case s.Neutral && ok && intensity != 0:
		ps.errAt(in, "%s is neutral, so its intensity must be 0 (or left out), not %d", where, intensity)
	case !s.Neutral && ok && (intensity < minIntensity || intensity > maxIntensity):
		ps.errAt(in, "%s: intensity %d is out of range; use a whole number from %d (mildest) to %d (strongest), or mark the step neutral: true",
			where, intensity, minIntensity, maxIntensity)
	case !s.Neutral && in == nil && !ps.typo(n, "intensity"):
		ps.errAt(n, "%s needs an intensity from %d (mildest) to %d (strongest); add a line like intensity: 3", where, minIntensity, maxIntensity)
	case !s.Neutral && ok:
		s.Intensity = intensity
	}

	var durOK bool
	s.Duration, _, durOK = ps.duration(m, "duration", where, false)
	if _, present := m["duration"]; !present && !ps.typo(n, "duration") {
		ps.errAt(n, "%s needs a duration; add a line like duration: 30s", where)
	}
	if !durOK {
		s.Duration = 0
	}
	s.Crossfade = ps.crossfade
	if d, _, ok := ps.crossfadeOf(m, where); ok {
		s.Crossfade = d
	}
	// A fade takes half the step at most: a short step still shows its
	// picture whole for a while.
	s.Crossfade = min(s.Crossfade, s.Duration/2)

	if f, ok := m["cues"]; ok {
		s.Cues = ps.cues(f, where, s.ID, s.Duration)
	} else if !ps.typo(n, "cues") {
		ps.errAt(n, "%s has no cues; add cues: with at least one image, sound, narration or text", where)
	}
	if f, ok := m["rating"]; ok && f.val.ShortTag() != "!!null" {
		s.Rating = ps.rating(f.val, f.key.Line, where)
	}
	if f, ok := m["end_when"]; ok {
		s.EndWhen = ps.endWhen(f, where, s.Duration)
	}
	return s
}

// endWhen reads a step's habituation condition. The step's duration is
// then its longest time.
func (ps *parser) endWhen(f field, where string, max time.Duration) *EndWhen {
	where += ", end_when"
	m := ps.mapping(f.val, where, []string{"scl_within", "hold", "craving_below", "min"}, nil)
	if m == nil {
		return nil
	}
	e := &EndWhen{Line: f.key.Line, SCLWithin: -1, CravingBelow: -1}
	if v, vn, ok := ps.number(m, "scl_within", where); ok {
		if v <= 0 || v > 100 {
			ps.errAt(vn, "%s: scl_within %s is a percentage of the skin-conductance rise (1 to 100): the step may end once the level is back within it of the baseline", where, clip(vn.Value))
		} else {
			e.SCLWithin = v
		}
	}
	if v, vn, ok := ps.number(m, "craving_below", where); ok {
		if v < 0 || v > 100 {
			ps.errAt(vn, "%s: craving_below %s must be from 0 to 100 (the craving scale)", where, clip(vn.Value))
		} else {
			e.CravingBelow = v
		}
	}
	if e.SCLWithin < 0 && e.CravingBelow < 0 {
		ps.errAt(f.key, "%s needs scl_within (skin conductance back near baseline), craving_below (the last craving rating), or both", where)
	}
	e.Hold, _, _ = ps.duration(m, "hold", where, true)
	var mn *yaml.Node
	e.Min, mn, _ = ps.duration(m, "min", where, true)
	if max > 0 && e.Min >= max {
		ps.errAt(mn, "%s: min %s is not shorter than the step's duration (%s), which is its longest time; shorten min or lengthen duration", where, fmtDur(e.Min), fmtDur(max))
	}
	return e
}

// crossfadeOf reads a crossfade: 0 (a hard cut) up to MaxCrossfade.
func (ps *parser) crossfadeOf(m map[string]field, where string) (time.Duration, *yaml.Node, bool) {
	d, n, ok := ps.duration(m, "crossfade", where, true)
	if ok && d > MaxCrossfade {
		ps.errAt(n, "%s: crossfade %s is longer than %s; a crossfade is a short dissolve from one step's picture to the next (0.5s to 2s), and 0 is a hard cut", where, fmtDur(d), fmtDur(MaxCrossfade))
		return 0, n, false
	}
	return d, n, ok
}

// peekName returns a mapping's name value before the mapping is checked.
func peekName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
			return strings.TrimSpace(v.Value)
		}
	}
	return ""
}

// id reads an optional explicit id into *id and records it for the
// uniqueness check; with no explicit id the derived *id is recorded.
func (ps *parser) id(m map[string]field, where string, id *string, at *yaml.Node) {
	use := idUse{id: *id, what: where, line: at.Line, col: at.Column, derived: true}
	if v, n := ps.text(m, "id", where); v != "" {
		if len(v) > maxIDLen || !idPattern.MatchString(v) {
			ps.errAt(n, "%s: id %q is not usable; an id is up to %d letters, digits, dots, dashes or underscores, starting with a letter or digit, e.g. bottle-1",
				where, clip(v), maxIDLen)
		} else {
			*id = v
			use = idUse{id: v, what: where, line: n.Line, col: n.Column}
		}
	}
	ps.ids = append(ps.ids, use)
}

// checkIDs reports ids used twice. Derived ids take part, so an explicit id
// may not take the automatic id of another step or cue.
func (ps *parser) checkIDs() {
	first := make(map[string]idUse, len(ps.ids))
	for _, u := range ps.ids {
		prev, dup := first[u.id]
		if !dup {
			first[u.id] = u
			continue
		}
		if prev.derived && u.derived {
			continue // only happens when their steps' ids collide, reported already
		}
		auto := ""
		if prev.derived {
			auto = " as its automatic id"
		}
		ps.c.add(u.line, u.col, nil, "%s: id %q is already used by %s (line %d)%s; every step and cue needs its own id: choose another one",
			u.what, u.id, prev.what, prev.line, auto)
	}
}

// checkOrder enforces the graded hierarchy: exposure steps never go down in
// intensity (neutral steps in between are skipped).
func (ps *parser) checkOrder(steps []Step) {
	prev := -1
	for i, s := range steps {
		if s.Neutral || s.Intensity == 0 {
			continue
		}
		if prev >= 0 && s.Intensity < steps[prev].Intensity {
			ps.c.add(s.Line, 0, nil, "step %d %q has intensity %d, lower than step %d %q before it (intensity %d); order the steps from low to high intensity",
				i+1, clip(s.Name), s.Intensity, prev+1, clip(steps[prev].Name), steps[prev].Intensity)
		}
		prev = i
	}
}

func (ps *parser) cues(f field, where, stepID string, stepDur time.Duration) []Cue {
	seq := f.val
	if seq.Kind != yaml.SequenceNode {
		ps.errAt(seq, "%s: cues should be a list, with each cue starting with - (as in - image: media/photo.png), but it is %s", where, describe(seq))
		return nil
	}
	if len(seq.Content) == 0 {
		ps.errAt(seq, "%s: cues is empty; add at least one image, sound, narration or text", where)
		return nil
	}
	if len(seq.Content) > maxCues {
		ps.errAt(seq, "%s has %d cues; a step has at most %d", where, len(seq.Content), maxCues)
		return nil
	}
	cues := make([]Cue, 0, len(seq.Content))
	seen := map[Kind]int{} // kind -> line of the first cue of that kind
	for i, n := range seq.Content {
		c, ok := ps.cue(n, fmt.Sprintf("cue %d of %s", i+1, where), fmt.Sprintf("%s.c%d", stepID, i+1), stepDur)
		if !ok {
			continue
		}
		// The patient window shows one image, one text and one voice at a
		// time; several sounds may layer (ambience plus effects).
		if c.Kind != KindSound {
			if line, dup := seen[c.Kind]; dup {
				ps.c.add(c.Line, c.col, nil, "%s: a step presents one %s at a time, and this step already has one (line %d); put the second one in a step of its own",
					where, c.Kind, line)
			} else {
				seen[c.Kind] = c.Line
			}
		}
		cues = append(cues, c)
	}
	return cues
}

// cue walks one cue; ok is false when it has no usable kind.
// validVoice accepts espeak-ng voice names (letters, digits, - + _ /), so a
// voice can never smuggle an option onto espeak-ng's command line.
func validVoice(v string) bool {
	if v == "" || len(v) > 40 || v[0] == '-' {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-+_/", r)) {
			return false
		}
	}
	return true
}

// subtitles reads either one text shown for the whole narration, or a list
// of timed captions: - at: 4s / text: "...", in order and within the step.
func (ps *parser) subtitles(m map[string]field, where string, stepDur time.Duration) (string, []Caption) {
	f, ok := m["subtitles"]
	if !ok {
		return "", nil
	}
	if f.val.Kind != yaml.SequenceNode {
		t, _ := ps.text(m, "subtitles", where)
		return t, nil
	}
	var caps []Caption
	for i, n := range f.val.Content {
		w := fmt.Sprintf("%s, caption %d", where, i+1)
		cm := ps.mapping(n, w, []string{"at", "text"}, nil)
		if cm == nil {
			continue
		}
		at, an, okAt := ps.duration(cm, "at", w, true)
		if !ps.need(cm, "at", n, w, "at: 4s") || !ps.need(cm, "text", n, w, `text: "You walk into your usual bar."`) {
			continue
		}
		t, _ := ps.text(cm, "text", w)
		if okAt && len(caps) > 0 && at <= caps[len(caps)-1].At {
			ps.errAt(an, "%s: at %s is not after the caption before it; list captions in the order they are spoken", w, fmtDur(at))
		}
		if okAt && stepDur > 0 && at >= stepDur {
			ps.errAt(an, "%s: at %s is after the end of the step (%s); remove the caption or lengthen the step", w, fmtDur(at), fmtDur(stepDur))
		}
		caps = append(caps, Caption{At: at, Text: t})
	}
	return "", caps
}

// Limits of a panorama's field of view, in degrees.
const minFOV, maxFOV, defaultFOV = 30, 120, 90

// Limits of the breathing pacer, in breaths per minute.
const minBreaths, maxBreaths = 2, 20

func (ps *parser) cue(n *yaml.Node, where, defaultID string, stepDur time.Duration) (Cue, bool) {
	m := ps.mapping(n, where, cueKeys, func(key string) string {
		if slices.Contains(exposureKeys, key) {
			return key + " is a setting of the step, not of a cue; indent it to line up with the step's name and duration"
		}
		return ""
	})
	if m == nil {
		return Cue{}, false
	}
	var kinds []string
	for _, k := range cueKindKeys {
		if _, ok := m[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		ps.errAt(n, "%s has no image, sound, narration or text; a cue starts with one of them, as in - image: media/photo.png", where)
		return Cue{}, false
	case 1:
	default:
		ps.errAt(m[kinds[1]].key, "%s has both %s and %s; a cue presents exactly one thing: make a separate cue (starting with -) for each", where, kinds[0], kinds[1])
		return Cue{}, false
	}
	kf := m[kinds[0]]
	c := Cue{Kind: Kind(kinds[0]), Line: kf.key.Line, col: kf.key.Column, ID: defaultID}
	say := kinds[0] == "say" // a narration spoken from its text
	if say {
		c.Kind = KindNarration
	}
	for key, f := range m {
		kindsOK, limited := cueKeyKinds[key]
		if limited && !slices.Contains(kindsOK, c.Kind) {
			ps.errAt(f.key, "%s: %s applies only to %s cues, and this is %s cue; remove %s", where, key, kindNames(kindsOK), article(c.Kind), key)
		}
	}

	if c.Kind == KindText {
		if ps.need(m, "text", n, where, `text: "Sit comfortably and breathe normally."`) {
			c.Text, _ = ps.text(m, "text", where)
		}
	} else if say {
		if ps.need(m, "say", n, where, `say: "It is Friday evening. You walk into your usual bar."`) {
			c.Text, _ = ps.text(m, "say", where)
		}
		c.Voice = "en-us"
		if v, _ := ps.text(m, "voice", where); v != "" {
			if !validVoice(v) {
				ps.errAt(m["voice"].val, "%s: voice %q is not an espeak-ng voice name; use one like en-us, en-gb, de, fr, es or nl (espeak-ng --voices lists them)", where, clip(v))
			} else {
				c.Voice = v
			}
		}
	} else if c.Kind == KindBreathing {
		if r, rn, ok := ps.number(m, "breathing", where); ok {
			if r < minBreaths || r > maxBreaths {
				ps.errAt(rn, "%s: breathing %s is the pace in breaths per minute and must be from %d to %d; slow paced breathing is usually about 6",
					where, clip(rn.Value), minBreaths, maxBreaths)
			} else {
				c.BreathsPerMin = r
			}
		}
	} else {
		c.Path = ps.mediaPath(m, string(c.Kind), where, c.Kind)
	}

	// Keys of other kinds were reported above; read only this kind's.
	switch c.Kind {
	case KindVideo:
		c.Fit = FitFit
		if v, _ := ps.choice(m, "fit", where, []string{FitFit, FitFill}); v != "" {
			c.Fit = v
		}
		c.End = ps.videoEnd(m, where)
		c.Loop = c.End == VideoLoop
		if g, gn, ok := ps.number(m, "gain", where); ok {
			if g < minGainDB || g > maxGainDB {
				ps.errAt(gn, "%s: gain %s dB is out of range; use a number of decibels from %d (much quieter) to +%d (louder)", where, clip(gn.Value), minGainDB, maxGainDB)
			} else {
				c.GainDB = g
			}
		}
	case KindPanorama:
		c.FOV = defaultFOV
		if v, vn, ok := ps.number(m, "fov", where); ok {
			if v < minFOV || v > maxFOV {
				ps.errAt(vn, "%s: fov %s is the horizontal field of view in degrees and must be from %d to %d; 90 looks natural on a desktop screen", where, clip(vn.Value), minFOV, maxFOV)
			} else {
				c.FOV = v
			}
		}
		if v, vn, ok := ps.number(m, "yaw", where); ok {
			if v < -180 || v > 180 {
				ps.errAt(vn, "%s: yaw %s is the direction the view starts in, in degrees from -180 to 180 (0 is the middle of the picture)", where, clip(vn.Value))
			} else {
				c.Yaw = v
			}
		}
	case KindImage:
		c.Fit = FitFit
		if v, _ := ps.choice(m, "fit", where, []string{FitFit, FitFill}); v != "" {
			c.Fit = v
		}
		if z, zn, ok := ps.number(m, "zoom", where); ok {
			if z < 1 || z > 2 {
				ps.errAt(zn, "%s: zoom %s is how far the picture slowly zooms in over the step, from 1 (not at all) to 2 (twice as close); 1.1 to 1.3 feels natural", where, clip(zn.Value))
			} else {
				c.Zoom = z
			}
		}
		c.Pan, _ = ps.choice(m, "pan", where, []string{"left", "right", "up", "down"})
	case KindSound, KindNarration:
		if c.Kind == KindSound {
			c.Loop, _ = ps.boolean(m, "loop", where)
		} else {
			c.Subtitles, c.Captions = ps.subtitles(m, where, stepDur)
			if say && c.Subtitles == "" && c.Captions == nil {
				c.Subtitles = c.Text
			}
		}
		if g, gn, ok := ps.number(m, "gain", where); ok {
			if g < minGainDB || g > maxGainDB {
				ps.errAt(gn, "%s: gain %s dB is out of range; use a number of decibels from %d (much quieter) to +%d (louder), 0 leaves the file as it is",
					where, clip(gn.Value), minGainDB, maxGainDB)
			} else {
				c.GainDB = g
			}
		}
		var inOK, outOK bool
		c.FadeIn, _, inOK = ps.duration(m, "fade_in", where, true)
		var on *yaml.Node
		c.FadeOut, on, outOK = ps.duration(m, "fade_out", where, true)
		if inOK && outOK && stepDur > 0 && c.FadeIn+c.FadeOut > stepDur {
			ps.errAt(on, "%s: fade_in (%s) and fade_out (%s) together are longer than the step (%s); shorten the fades", where, fmtDur(c.FadeIn), fmtDur(c.FadeOut), fmtDur(stepDur))
		} else if stepDur > 0 && ((inOK && c.FadeIn > stepDur) || (outOK && c.FadeOut > stepDur)) {
			ps.errAt(n, "%s: a fade is longer than the step (%s); shorten the fade", where, fmtDur(stepDur))
		}
	}
	c.Description, _ = ps.text(m, "description", where)
	c.Personalised, _ = ps.boolean(m, "personalised", where)
	ps.id(m, where, &c.ID, kf.key)
	return c, true
}

// videoEnd reads what a video does after its last picture: end: loop, hold
// or blank; loop: true or false is the older way to write loop or hold.
// Without either it loops, so a video shorter than its step never stands
// still on its last picture unless the protocol asks for it.
func (ps *parser) videoEnd(m map[string]field, where string) string {
	loop, ln := ps.boolean(m, "loop", where)
	end, en := ps.choice(m, "end", where, []string{VideoLoop, VideoHold, VideoBlank})
	switch {
	case en != nil && ln != nil:
		ps.errAt(ln, "%s: give end: alone (loop, hold or blank); loop: is the older way to write end: loop, and both together may disagree", where)
		if end != "" {
			return end
		}
	case end != "":
		return end
	case ln != nil && !loop && m["loop"].val.ShortTag() == "!!bool":
		return VideoHold
	}
	return VideoLoop
}

// mediaPath reads and checks a media path without touching the disk: it must
// be relative, stay inside the protocol's folder, and have a known extension.
func (ps *parser) mediaPath(m map[string]field, key, where string, kind Kind) string {
	ex := "media/bottle.png"
	if kind == KindVideo {
		ex = "media/bar.mpg"
	} else if kind != KindImage && kind != KindPanorama {
		ex = "media/sound.wav"
	}
	if !ps.need(m, key, nil, where, key+": "+ex) { // key is present: nil parent is never used
		return ""
	}
	v, n := ps.text(m, key, where)
	if v == "" { // not a single value; already reported
		return ""
	}
	p, problem := checkMediaPath(v, kind)
	if problem != "" {
		ps.errAt(n, "%s: %s", where, problem)
		return ""
	}
	return p
}

// checkMediaPath returns the cleaned path, or what is wrong with it.
func checkMediaPath(v string, kind Kind) (string, string) {
	q := strconv.Quote(clip(v))
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Sprintf("the file name %s contains a control character; retype it", q)
		}
	}
	if strings.Contains(v, `\`) {
		return "", fmt.Sprintf("the file name %s contains a backslash; write folders with forward slashes, as in media/bottle.png", q)
	}
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || (len(v) >= 2 && v[1] == ':' && isLetter(v[0])) {
		return "", fmt.Sprintf("%s is an absolute path, but media files must be inside the protocol's folder; copy the file there and write its path from that folder, as in media/bottle.png", q)
	}
	clean := path.Clean(v)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Sprintf("%s leaves the protocol's folder (..), but media files must be inside it; copy the file into the protocol's folder (or a subfolder such as media/) and write its path from there", q)
	}
	if clean == "." || !fs.ValidPath(clean) || strings.HasSuffix(v, "/") {
		return "", fmt.Sprintf("%s is not a file name; write the path of a file in the protocol's folder, as in media/bottle.png", q)
	}
	ext := strings.ToLower(path.Ext(clean))
	switch kind {
	case KindImage, KindPanorama:
		if slices.Contains(imageExts, ext) {
			return clean, ""
		}
		if slices.Contains(audioExts, ext) {
			return "", fmt.Sprintf("%s is a sound file, but image needs a picture; did you mean sound: %s?", q, v)
		}
		return "", fmt.Sprintf("%s is not a PNG or JPEG picture (.png, .jpg, .jpeg); convert the picture to PNG or JPEG and use that file", q)
	case KindBreathing, KindText:
		return "", fmt.Sprintf("%s needs no file", kind)
	case KindVideo:
		if slices.Contains(videoExts, ext) {
			return clean, ""
		}
		return "", fmt.Sprintf("%s is not an MPEG-1 video (.mpg, .mpeg); convert it with: ffmpeg -i IN -c:v mpeg1video -q:v 4 -c:a mp2 -ar 48000 -f mpeg OUT.mpg", q)
	default:
		if slices.Contains(audioExts, ext) {
			return clean, ""
		}
		if slices.Contains(imageExts, ext) {
			return "", fmt.Sprintf("%s is a picture, but %s needs a sound file; did you mean image: %s?", q, kind, v)
		}
		return "", fmt.Sprintf("%s is not a sound file cueroom plays (.wav, .mp3, .ogg, .flac); convert it to WAV or MP3 and use that file", q)
	}
}

func (ps *parser) rating(n *yaml.Node, line int, where string) *Rating {
	where = "the rating of " + where
	m := ps.mapping(n, where, ratingKeys, nil)
	if m == nil {
		return nil
	}
	r := &Rating{Line: line, At: AtEnd}
	if ps.need(m, "scale", n, where, "scale: craving (or suds)") {
		r.Scale, _ = ps.choice(m, "scale", where, []string{ScaleCraving, ScaleSUDS})
	}
	if ps.need(m, "question", n, where, `question: "How strong is your craving right now?"`) {
		r.Question, _ = ps.text(m, "question", where)
	}
	if at, _ := ps.choice(m, "at", where, []string{AtStart, AtEnd}); at != "" {
		r.At = at
	}
	if d, dn, ok := ps.duration(m, "every", where, false); ok && d > 0 {
		if d < 10*time.Second {
			ps.errAt(dn, "%s: every %s would ask more often than every 10 seconds; a rating takes the patient a few seconds to give", where, fmtDur(d))
		} else {
			r.Every = d
		}
	}
	return r
}

// suggest returns the allowed key closest to a misspelt one, or "".
func suggest(key string, allowed []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	best, bestD := "", 3
	for _, a := range allowed {
		if norm(a) == norm(key) {
			return a
		}
		if d := editDistance(norm(key), a); d < bestD && d < len(a)/2+1 {
			best, bestD = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, bounded to short keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func kindNames(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, " and ")
}

func article(k Kind) string {
	if k == KindImage {
		return "an image"
	}
	return "a " + string(k)
}

func orList(options []string) string {
	if len(options) == 1 {
		return options[0]
	}
	return strings.Join(options[:len(options)-1], ", ") + " or " + options[len(options)-1]
}

// fmtDur writes a duration the way a protocol would: 2h, 1m30s, 500ms.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }
