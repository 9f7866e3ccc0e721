// Command genkindsjs writes the dashboard's kinds.js (see package kindsjs).
// go generate ./engine/feed runs it:
//
//	go run ./internal/kindsjs/genkindsjs web/kinds.js
package main

import (
	"fmt"
	"os"

	"github.com/cueroom/cueroom/engine/feed/internal/kindsjs"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genkindsjs OUTPUT.js")
		os.Exit(2)
	}
	b, err := kindsjs.Generate()
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genkindsjs:", err)
		os.Exit(1)
	}
}
