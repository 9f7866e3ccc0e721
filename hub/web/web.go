// Package web is the hub's monitor page: plain HTML, CSS and JavaScript,
// embedded (no CDN: it works offline), fed by the hub's WebSocket with
// one tile per station.
package web

import "embed"

// Files are the page's files, served at the monitor's root.
//
//go:embed index.html monitor.js monitor.css
var Files embed.FS
