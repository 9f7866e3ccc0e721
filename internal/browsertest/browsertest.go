// Package browsertest finds what a test needs to drive a page in Chromium
// with playwright-core: node, Debian's chromium, and an npm project's
// installed modules. Without them a test skips, unless CI is set, where
// scripts/test.sh installs them and their absence is an error.
package browsertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tools returns node and Chromium, after checking that the npm project in
// dir (its path from the test's package; project is how the repository
// names it, for the "npm ci --prefix" hint) has each of modules installed.
// It skips in -short mode.
func Tools(t testing.TB, dir, project string, modules ...string) (node, chromium string) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s/node_modules/%s is missing (CI is set, so this is an error): run npm ci --prefix %s", project, m, project)
			}
			t.Skipf("%s/node_modules missing: run npm ci --prefix %s to run the browser test", project, project)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the browser test: %v", err)
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if chromium, err = exec.LookPath("chromium"); err != nil {
			t.Fatalf("chromium is needed for the browser test (scripts/deps.sh installs it): %v", err)
		}
	}
	return node, chromium
}
