// Command compare prints how likely QUERY is a copy of REFERENCE, and the copied segments.
//
//	go run ./compare QUERY REFERENCE
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/libvinfringe/vinfringe/bindings/go/vinfringe"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: compare QUERY REFERENCE")
		os.Exit(2)
	}
	model, err := vinfringe.LoadDefaultModel()
	check(err)
	defer model.Close()

	ctx := context.Background()
	query, err := model.Embed(ctx, os.Args[1], nil) // nil: default options (1 frame/s)
	check(err)
	defer query.Close()
	ref, err := model.Embed(ctx, os.Args[2], nil)
	check(err)
	defer ref.Close()

	m, err := vinfringe.Compare(query, ref, nil) // nil: also localise copied segments
	check(err)
	fmt.Printf("score %.6f\n", m.Score)
	fmt.Printf("video_similarity %.6f\n", m.VideoSimilarity)
	fmt.Printf("segments %d\n", len(m.Segments))
	for _, s := range m.Segments {
		fmt.Printf("  query %7.2f-%7.2f s  <->  reference %7.2f-%7.2f s  (similarity %.3f)\n",
			s.QueryStart, s.QueryEnd, s.RefStart, s.RefEnd, s.Score)
	}
}

func check(err error) {
	if err != nil { // a *vinfringe.Error: status code + the library's message
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
