// Command indexsearch fingerprints every video in a folder (recursively) into an index, saves
// it, and searches it with a query video. Ids follow the vinfringe command's rule (the path below
// FOLDER without extension), so two files with one name in different subfolders stay apart.
// Ctrl-C cancels a running embedding through the context.
//
//	PKG_CONFIG_PATH=/usr/local/lib/pkgconfig go run ./indexsearch FOLDER QUERY
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/libvinfringe/vinfringe/bindings/go/vinfringe"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: indexsearch FOLDER QUERY")
		os.Exit(2)
	}
	folder, query := os.Args[1], os.Args[2]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	inputs, err := vinfringe.CollectInputs([]string{folder}, nil) // nil: default extensions
	check(err)
	model, err := vinfringe.LoadDefaultModel() // the model built into the library
	check(err)
	defer model.Close() // Close frees the C side now; finalizers are only a safety net
	index, err := vinfringe.NewIndex()
	check(err)
	defer index.Close()

	for _, in := range inputs {
		emb, err := model.Embed(ctx, in.Path, nil) // nil: default options (1 frame per second)
		if errors.Is(err, context.Canceled) {
			check(err) // Ctrl-C
		} else if err != nil { // damaged or not a video: report it and go on
			fmt.Fprintf(os.Stderr, "skipped %s: %v\n", in.Path, err)
			continue
		}
		err = index.Add(in.ID, emb) // the index keeps its own copy
		emb.Close()
		check(err)
		fmt.Printf("indexed %s\n", in.ID)
	}
	check(index.Save(filepath.Join(folder, ".vinfringe.vidx")))

	q, err := model.Embed(ctx, query, &vinfringe.EmbedOptions{FPS: 1})
	check(err)
	defer q.Close()
	hits, err := index.Search(q, 3)
	check(err)
	fmt.Printf("%s, best matches first (%d videos indexed):\n", query, index.Len())
	for _, h := range hits {
		fmt.Printf("  %.4f  %-30s  %d copied segment(s)\n", h.Score, h.ID, len(h.Match.Segments))
	}
}

// check prints the library's status and message, and exits, when err is not nil.
func check(err error) {
	var verr *vinfringe.Error
	if errors.As(err, &verr) {
		fmt.Fprintf(os.Stderr, "error [%s]: %s\n", verr.Code, verr.Message)
		os.Exit(1)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
