package xr

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "tok-123"

func testHandler(t *testing.T, plan *Plan, media fs.FS, refused *[]string) http.Handler {
	return Handler(Config{Plan: plan, Media: media,
		Authorize: func(r *http.Request) bool { return r.URL.Query().Get("token") == testToken },
		Refused: func(r *http.Request, what string) {
			if refused != nil {
				*refused = append(*refused, what)
			}
		}})
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func TestHandler(t *testing.T) {
	p := testProtocol(t, false)
	plan, err := NewPlan(p)
	require.NoError(t, err)
	var refused []string
	h := testHandler(t, plan, p.FS, &refused)
	pic, err := fs.ReadFile(p.FS, "media/pic.png")
	require.NoError(t, err)

	for _, tc := range []struct {
		name, method, target string
		code                 int
		ctype                string
	}{
		{"page", "GET", "/xr?token=" + testToken, 200, "text/html; charset=utf-8"},
		{"page HEAD", "HEAD", "/xr?token=" + testToken, 200, "text/html; charset=utf-8"},
		{"page without token", "GET", "/xr", 401, ""},
		{"page, wrong token", "GET", "/xr?token=nope", 401, ""},
		{"script, no token needed", "GET", "/xr/xr.js", 200, "text/javascript; charset=utf-8"},
		{"style", "GET", "/xr/xr.css", 200, "text/css; charset=utf-8"},
		{"three", "GET", "/xr/vendor/three.module.js", 200, "text/javascript; charset=utf-8"},
		{"three core", "GET", "/xr/vendor/three.core.js", 200, "text/javascript; charset=utf-8"},
		{"decoder", "GET", "/xr/vendor/jsmpeg-player.esm.js", 200, "text/javascript; charset=utf-8"},
		{"licence", "GET", "/xr/vendor/three.LICENSE.txt", 200, "text/plain; charset=utf-8"},
		{"plan", "GET", "/xr/plan?token=" + testToken, 200, "application/json"},
		{"plan without token", "GET", "/xr/plan", 401, ""},
		{"media", "GET", "/xr/media/media/pic.png?token=" + testToken, 200, "image/png"},
		{"media video", "GET", "/xr/media/media/clip.mpg?token=" + testToken, 200, "video/mpeg"},
		{"media sound", "GET", "/xr/media/media/tone.wav?token=" + testToken, 200, "audio/wav"},
		{"media without token", "GET", "/xr/media/media/pic.png", 401, ""},
		{"not in the plan", "GET", "/xr/media/protocol.yaml?token=" + testToken, 404, ""},
		{"out of the folder", "GET", "/xr/media/../protocol.yaml?token=" + testToken, 404, ""},
		{"a folder", "GET", "/xr/media/media?token=" + testToken, 404, ""},
		{"unknown", "GET", "/xr/nothing.js", 404, ""},
		{"POST", "POST", "/xr?token=" + testToken, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, h, tc.method, tc.target)
			assert.Equal(t, tc.code, w.Code, w.Body.String())
			if tc.ctype != "" {
				assert.Equal(t, tc.ctype, w.Header().Get("Content-Type"))
				assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				assert.NotEmpty(t, w.Header().Get("Content-Security-Policy"))
			}
		})
	}
	assert.Equal(t, []string{"headset page", "headset page", "headset plan", "headset media"}, refused)

	w := get(t, h, "GET", "/xr/media/media/pic.png?token="+testToken)
	assert.Equal(t, pic, w.Body.Bytes())
	w = get(t, h, "GET", "/xr?token="+testToken)
	assert.Equal(t, CSP, w.Header().Get("Content-Security-Policy"))
	assert.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))

	var back Plan
	w = get(t, h, "GET", "/xr/plan?token="+testToken)
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &back))
	assert.Equal(t, *plan, back)
	assert.NotContains(t, w.Body.String(), "Headset test", "the plan carries no title")
}

func TestHandlerWithoutPlan(t *testing.T) {
	h := testHandler(t, nil, nil, nil)
	assert.Equal(t, 404, get(t, h, "GET", "/xr/plan?token="+testToken).Code)
	assert.Equal(t, 404, get(t, h, "GET", "/xr/media/a.png?token="+testToken).Code)
	assert.Equal(t, 200, get(t, h, "GET", "/xr?token="+testToken).Code)
}

// TestPageAssets: every script, style and module the page loads is served.
func TestPageAssets(t *testing.T) {
	h := testHandler(t, nil, nil, nil)
	page := get(t, h, "GET", "/xr?token="+testToken).Body.String()
	refs := regexp.MustCompile(`(?:src|href)="(/xr/[^"]+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, refs, 2)
	for _, r := range refs {
		assert.Equal(t, 200, get(t, h, "GET", r[1]).Code, r[1])
	}
	for _, js := range []string{"xr.js", "vendor/three.module.js"} {
		b, err := fs.ReadFile(Files(), js)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`(?:from|import\()\s*["'](\./[^"']+)["']`).FindAllStringSubmatch(string(b), -1) {
			target := "/xr/" + filepath.ToSlash(filepath.Join(filepath.Dir(js), m[1]))
			assert.Equal(t, 200, get(t, h, "GET", target).Code, "%s imports %s", js, m[1])
		}
	}
	// Vendored files carry their licences, and match what build.sh copies.
	for _, lic := range []string{"vendor/three.LICENSE.txt", "vendor/jsmpeg.LICENSE.txt"} {
		b, err := fs.ReadFile(Files(), lic)
		require.NoError(t, err)
		assert.Contains(t, string(b), "MIT License")
	}
	if _, err := os.Stat("ui/node_modules/three/build/three.module.js"); err == nil {
		for src, dst := range map[string]string{
			"ui/node_modules/three/build/three.module.js":                       "vendor/three.module.js",
			"ui/node_modules/three/build/three.core.js":                         "vendor/three.core.js",
			"ui/node_modules/@cycjimmy/jsmpeg-player/dist/jsmpeg-player.esm.js": "vendor/jsmpeg-player.esm.js",
		} {
			a, err := os.ReadFile(src)
			require.NoError(t, err)
			b, err := fs.ReadFile(Files(), dst)
			require.NoError(t, err)
			assert.True(t, string(a) == string(b), "%s differs from %s: run bash engine/xr/ui/build.sh", dst, src)
		}
	}
}

func TestNewPlan(t *testing.T) {
	p := testProtocol(t, false)
	plan, err := NewPlan(p)
	require.NoError(t, err)
	require.Len(t, plan.Steps, 8)
	for _, st := range plan.Steps {
		for _, c := range st.Cues {
			if c.File == "" {
				continue
			}
			f, err := p.FS.Open(c.File)
			require.NoError(t, err)
			b, err := io.ReadAll(f)
			f.Close()
			require.NoError(t, err)
			assert.Equal(t, sha(b), c.SHA256, c.File)
			assert.Equal(t, int64(len(b)), c.Size, c.File)
		}
	}
	assert.Equal(t, PlanCue{ID: "baseline.c1", Kind: "breathing", BPM: 6}, plan.Steps[stepBreath].Cues[0])
	pano := plan.Steps[stepPano].Cues[0]
	assert.Equal(t, []any{"panorama", 90.0, 90.0}, []any{pano.Kind, pano.Yaw, pano.FOV})
	assert.Equal(t, "Notice what you feel, and let it pass.", plan.Steps[stepText].Cues[0].Text)
	assert.Equal(t, "loop", plan.Steps[stepVideo].Cues[0].End)
	assert.Equal(t, "Listen to the tone.", plan.Steps[stepSound].Cues[0].Subtitles)
	assert.True(t, plan.Steps[stepBreath].Neutral)
	c, ok := plan.Cue("pano")
	assert.True(t, ok)
	assert.Equal(t, pano, c)
	b, err := json.Marshal(plan)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(b), "Panorama"), "step names stay off the headset")
}
