package feed

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

// The dashboard page. index.html is only served with a token; its scripts
// and styles hold no session data and are served to anyone who passed the
// Host check, so the page needs no inline code (strict CSP). web/vendor is
// uPlot from npm, refreshed by ui/build.sh, so go build needs no node.
// web/kinds.js is generated from package event, so the page and Go share one
// list of event kinds (TestKindsJSUpToDate fails when it is stale).
//
//go:generate go run ./internal/kindsjs/genkindsjs web/kinds.js
//go:embed web/index.html web/app.js web/kinds.js web/app.css web/vendor/uPlot.iife.min.js web/vendor/uPlot.min.css web/vendor/uPlot.LICENSE.txt
var webFS embed.FS

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	ctype string
}

var assets = map[string]asset{
	"/":         {mustRead("web/index.html"), "text/html; charset=utf-8"},
	"/app.js":   {mustRead("web/app.js"), "text/javascript; charset=utf-8"},
	"/kinds.js": {mustRead("web/kinds.js"), "text/javascript; charset=utf-8"},
	"/app.css":  {mustRead("web/app.css"), "text/css; charset=utf-8"},

	"/vendor/uPlot.iife.min.js": {mustRead("web/vendor/uPlot.iife.min.js"), "text/javascript; charset=utf-8"},
	"/vendor/uPlot.min.css":     {mustRead("web/vendor/uPlot.min.css"), "text/css; charset=utf-8"},
	"/vendor/uPlot.LICENSE.txt": {mustRead("web/vendor/uPlot.LICENSE.txt"), "text/plain; charset=utf-8"},
}

func mustRead(name string) []byte {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic("feed: embedded " + name + " missing: " + err.Error()) // build-time fact
	}
	return b
}

// servePage serves the dashboard and its assets.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" && !s.authorized(r) {
		s.refuse(r.RemoteAddr, "page request", "missing or wrong token", false)
		unauthorized(w)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
