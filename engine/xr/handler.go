// Package xr is the headset page: a WebXR page (three.js) that shows the
// live session in a standalone headset's browser, or inline in any browser,
// and the Go side the dashboard server mounts to serve it: the embedded
// files, the protocol's plan and media, and the validator of what a display
// may send on the feed's socket. README.md says how it fits together.
package xr

import (
	"bytes"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// The page and its vendored libraries (ui/build.sh refreshes web/vendor
// from npm, so go build needs no node).
//
//go:embed web/xr.html web/xr.js web/xr.css web/vendor/three.module.js web/vendor/three.core.js web/vendor/three.LICENSE.txt web/vendor/jsmpeg-player.esm.js web/vendor/jsmpeg.LICENSE.txt
var webFS embed.FS

// Files is the page's files: xr.html, xr.js, xr.css and vendor/….
func Files() fs.FS {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic("xr: embedded web missing: " + err.Error()) // build-time fact
	}
	return sub
}

// CSP is the page's Content-Security-Policy: no inline code, nothing from
// elsewhere. The MPEG-1 decoder compiles WebAssembly ('wasm-unsafe-eval'
// allows that and not eval); media are verified blobs.
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Config says what Handler serves.
type Config struct {
	// Plan is the protocol as the page draws it (NewPlan). Nil: /xr/plan
	// answers 404 and no media are served (the page waits).
	Plan *Plan
	// Media is the protocol's folder (scenes.Protocol.FS): /xr/media
	// serves the plan's files from it, and nothing else.
	Media fs.FS
	// Authorize says whether a request carries the display token, the one
	// that opens the page, the plan and the media (the page then talks on
	// /ws with the same token: with another role its messages are
	// refused). The page's scripts hold no session data and are served to
	// anyone.
	Authorize func(*http.Request) bool
	// Refused, when set, is told of each request refused for its token
	// (the feed audits it, rate-limited).
	Refused func(r *http.Request, what string)
}

// Handler serves, under /xr:
//
//	GET /xr?token=T             the page (HTML)
//	GET /xr/xr.js, /xr/xr.css   its code and style
//	GET /xr/vendor/NAME         three.js, the MPEG-1 decoder, their licences
//	GET /xr/plan?token=T        the Plan (JSON)
//	GET /xr/media/PATH?token=T  a media file of the plan, PATH as in the plan
//
// Mount it for "/xr" and "/xr/" behind the feed's Host check. Everything
// else under /xr is 404; methods other than GET and HEAD are 405.
func Handler(cfg Config) http.Handler {
	h := &handler{cfg: cfg, files: map[string]string{}}
	if cfg.Plan != nil {
		h.files = cfg.Plan.files()
		h.plan, _ = json.Marshal(cfg.Plan)
	}
	h.static = map[string]asset{}
	for name, ctype := range map[string]string{
		"xr.js": "text/javascript; charset=utf-8", "xr.css": "text/css; charset=utf-8",
		"vendor/three.module.js": "text/javascript; charset=utf-8", "vendor/three.core.js": "text/javascript; charset=utf-8",
		"vendor/jsmpeg-player.esm.js": "text/javascript; charset=utf-8",
		"vendor/three.LICENSE.txt":    "text/plain; charset=utf-8", "vendor/jsmpeg.LICENSE.txt": "text/plain; charset=utf-8",
	} {
		b, err := webFS.ReadFile("web/" + name)
		if err != nil {
			panic("xr: embedded " + name + " missing: " + err.Error())
		}
		h.static["/xr/"+name] = asset{b, ctype}
	}
	page, err := webFS.ReadFile("web/xr.html")
	if err != nil {
		panic("xr: embedded xr.html missing: " + err.Error())
	}
	h.page = asset{page, "text/html; charset=utf-8"}
	return h
}

type asset struct {
	body  []byte
	ctype string
}

type handler struct {
	cfg    Config
	page   asset
	static map[string]asset
	plan   []byte            // the plan's JSON, nil without one
	files  map[string]string // media the plan names
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if a, ok := h.static[p]; ok {
		serve(w, r, a)
		return
	}
	switch {
	case p == "/xr":
		if h.allowed(w, r, "headset page") {
			serve(w, r, h.page)
		}
	case p == "/xr/plan":
		if !h.allowed(w, r, "headset plan") {
			return
		}
		if h.plan == nil {
			http.Error(w, "no protocol loaded", http.StatusNotFound)
			return
		}
		serve(w, r, asset{h.plan, "application/json"})
	case strings.HasPrefix(p, "/xr/media/"):
		if h.allowed(w, r, "headset media") {
			h.serveMedia(w, r, strings.TrimPrefix(p, "/xr/media/"))
		}
	default:
		http.NotFound(w, r)
	}
}

// allowed checks the token, answering 401 when it is wrong.
func (h *handler) allowed(w http.ResponseWriter, r *http.Request, what string) bool {
	if h.cfg.Authorize != nil && h.cfg.Authorize(r) {
		return true
	}
	if h.cfg.Refused != nil {
		h.cfg.Refused(r, what)
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="cueroom headset"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
	return false
}

// serveMedia serves one file the plan names, from the protocol's folder.
func (h *handler) serveMedia(w http.ResponseWriter, r *http.Request, name string) {
	if _, ok := h.files[name]; !ok || h.cfg.Media == nil {
		http.NotFound(w, r) // only the plan's files: no listing, no ../
		return
	}
	f, err := h.cfg.Media.Open(name)
	if err != nil {
		http.Error(w, "media file missing", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		http.Error(w, "media file missing", http.StatusNotFound)
		return
	}
	hd := w.Header()
	ctype := mediaTypes[strings.ToLower(path.Ext(name))]
	if ctype == "" {
		ctype = mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", fi.ModTime(), rs)
		return
	}
	b, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "media file unreadable", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), bytes.NewReader(b))
}

// mediaTypes covers the protocol's media where the system's MIME table may
// not (a minimal container has none).
var mediaTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".mpg": "video/mpeg", ".mpeg": "video/mpeg",
	".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac",
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
