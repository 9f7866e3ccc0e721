package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commands are the subcommands 'cueroom help' lists.
func commands(t *testing.T) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  cueroom (\w+)`).FindAllStringSubmatch(usage, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	require.GreaterOrEqual(t, len(names), 10, "the usage lists the commands")
	return names
}

// TestHelpEveryCommand: '--help' and '-h' on every subcommand, and
// 'cueroom help CMD', print the command's usage on stdout and exit 0.
func TestHelpEveryCommand(t *testing.T) {
	for _, name := range commands(t) {
		if name == "version" {
			continue // prints the version whatever follows
		}
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				cmd := cueroom(t, args...)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				require.NoError(t, cmd.Run(), "exit 0; stderr: %s", stderr.String())
				assert.Empty(t, stderr.String())
				assert.Regexp(t, `(?i)usage: cueroom `+name, stdout.String())
			})
		}
	}
}

// TestWindowSizeCheckedFirst: an impossible window size is refused (exit
// 2) before anything starts: no session folder is made.
func TestWindowSizeCheckedFirst(t *testing.T) {
	for _, tc := range [][]string{
		{"run", "--width", "100000"},
		{"run", "--height", "0"},
		{"run", "--width", "200", "--height", "100"},
		{"replay", "--width", "100000", "nosuchsession"},
	} {
		t.Run(strings.Join(tc, " "), func(t *testing.T) {
			sessions := t.TempDir()
			args := append([]string{tc[0], "--sessions", sessions}, tc[1:]...)
			if tc[0] == "replay" {
				args = tc
			}
			var stderr bytes.Buffer
			cmd := cueroom(t, args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "%v", err)
			assert.Equal(t, 2, ee.ExitCode())
			assert.Contains(t, stderr.String(), "give a window size in pixels from 320×240 to 7680×4320")
			left, _ := filepath.Glob(filepath.Join(sessions, "*"))
			assert.Empty(t, left, "no session folder")
		})
	}
}
