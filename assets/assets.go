// Package assets holds what cueroom ships inside its binary: the bundled
// alcohol cue exposure demo (protocol files and the media they use).
//
// The media are made by the generator in gen/ (go run ./assets/gen); see
// demo/LICENSE.md for how each file was made and its licence.
package assets

import (
	"embed"
	"io/fs"
)

// Demo is the demo folder as embedded: demo/protocol.yaml (about two and a
// half minutes), demo/short.yaml (a few seconds, for end-to-end tests),
// demo/LICENSE.md and demo/media/.
//
//go:embed demo
var Demo embed.FS

// DemoFS returns the demo folder itself, so protocol.yaml sits at its root
// and the protocols' media paths (media/...) resolve against it, as they do
// against a protocol's folder on disk.
func DemoFS() fs.FS {
	sub, err := fs.Sub(Demo, "demo")
	if err != nil {
		// fs.Sub fails only on an invalid path name, and "demo" is valid.
		panic("assets: " + err.Error())
	}
	return sub
}
