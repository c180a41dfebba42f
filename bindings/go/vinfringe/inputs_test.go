package vinfringe

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The id rule of the vinfringe command, on a real directory tree (no video needed).
func TestCollectInputs(t *testing.T) {
	root := t.TempDir()
	lib := filepath.Join(root, "library")
	for _, f := range []string{"season1/ep01.mp4", "season1/TRAILER.MP4", "season1/notes.txt",
		"season2/ep01.mp4", "season2/extras/making of.vemb", ".hidden/secret.mp4"} {
		p := filepath.Join(lib, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(lib, filepath.Join(lib, "season2", "loop")); err != nil {
		t.Fatal(err)
	}
	got, err := CollectInputs([]string{lib}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, in := range got {
		ids = append(ids, in.ID)
	}
	want := []string{"season1/TRAILER", "season1/ep01", "season2/ep01", "season2/extras/making of"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if got[1].Path != filepath.Join(lib, "season1", "ep01.mp4") {
		t.Errorf("path %q", got[1].Path)
	}

	// Extensions, a file named directly.
	got, err = CollectInputs([]string{lib, filepath.Join(lib, "season1", "notes.txt")},
		&InputOptions{Extensions: []string{".VEMB"}})
	if err != nil || len(got) != 2 || got[0].ID != "season2/extras/making of" || got[1].ID != "notes" {
		t.Errorf("extension filter: %v %v", got, err)
	}

	// Two inputs with one id are refused, naming both.
	_, err = CollectInputs([]string{filepath.Join(lib, "season1", "ep01.mp4"),
		filepath.Join(lib, "season2", "ep01.mp4")}, nil)
	var dup *DuplicateIDError
	if !errors.As(err, &dup) || dup.ID != "ep01" || filepath.Base(filepath.Dir(dup.Second)) != "season2" {
		t.Errorf("duplicate ids: %v", err)
	}

	// An id list, paths relative to it.
	list := filepath.Join(root, "ids.tsv")
	if err := os.WriteFile(list, []byte("# ids\n\nshow/one\tlibrary/season1/ep01.mp4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = CollectInputs(nil, &InputOptions{IDList: list})
	if err != nil || len(got) != 1 || got[0].ID != "show/one" ||
		got[0].Path != filepath.Join(lib, "season1", "ep01.mp4") {
		t.Errorf("id list: %v %v", got, err)
	}
	if err := os.WriteFile(list, []byte("no tab\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CollectInputs(nil, &InputOptions{IDList: list}); err == nil {
		t.Error("a line without a tab was accepted")
	}
}
