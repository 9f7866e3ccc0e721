package feed

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

// The dashboard page. index.html is only served with the token; its script
// and style hold no session data and are served to anyone who passed the
// Host check, so the page needs no inline code (strict CSP).
//
//go:embed web/index.html web/app.js web/app.css
var webFS embed.FS

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	ctype string
}

var assets = map[string]asset{
	"/":        {mustRead("web/index.html"), "text/html; charset=utf-8"},
	"/app.js":  {mustRead("web/app.js"), "text/javascript; charset=utf-8"},
	"/app.css": {mustRead("web/app.css"), "text/css; charset=utf-8"},
}

func mustRead(name string) []byte {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic("feed: embedded " + name + " missing: " + err.Error()) // build-time fact
	}
	return b
}

// servePage serves the dashboard and its two assets.
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
		s.logf("feed: refused page request from %s: missing or wrong token", r.RemoteAddr)
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
