package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxDepth bounds how deeply a client message may nest: a command is an
// object with one object of arguments, so anything deeper is not one.
const maxDepth = 32

// duplicateKey finds an object key that appears twice in one object of b,
// at any depth, and names it (dup says one was found: the key may be ""). encoding/json keeps the last of duplicate keys
// (and matches them case-insensitively), so {"cmd":"marker","cmd":"end"}
// would be read as "end" while a log or a proxy reading the first saw a
// marker: such a message is refused rather than guessed at. Keys that differ
// only in case count as the same, as encoding/json reads them so. b must be
// valid JSON (json.Valid); the result for invalid input is unspecified but
// never a panic.
func duplicateKey(b []byte) (key string, dup bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // no float parsing: only the structure matters here
	type frame struct {
		object bool
		keys   map[string]bool // lower-cased keys seen so far
		expect bool            // an object's next token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				continue
			}
			key, _ := tok.(string)
			low := strings.ToLower(key)
			if stack[top].keys[low] {
				return key, true, nil
			}
			stack[top].keys[low] = true
			stack[top].expect = false
			continue
		}
		if top >= 0 && stack[top].object {
			stack[top].expect = true // this token is a value: a key comes next
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= maxDepth {
				return "", false, fmt.Errorf("nested deeper than %d levels", maxDepth)
			}
			stack = append(stack, frame{object: true, keys: map[string]bool{}, expect: true})
		case json.Delim('['):
			if len(stack) >= maxDepth {
				return "", false, fmt.Errorf("nested deeper than %d levels", maxDepth)
			}
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:top]
		}
	}
}
