package vinfringe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Input is one file of a batch and its id, as `vinfringe index build` names it.
type Input struct {
	ID   string
	Path string
}

// DefaultExtensions are the extensions of the files CollectInputs takes from a directory when
// InputOptions.Extensions is nil (the command's default for --ext).
var DefaultExtensions = []string{"mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "flv", "mpg",
	"mpeg", "ts", "m2ts", "mts", "3gp", "ogv", "vemb"}

// InputOptions control CollectInputs.
type InputOptions struct {
	// Extensions of the files taken from directories, case-insensitive, with or without the
	// dot; nil: DefaultExtensions; []string{"*"}: every file.
	Extensions []string
	// IDList is a file of "ID<TAB>PATH" lines naming more inputs ('#' lines and blank lines
	// skipped; a relative PATH is relative to the list's directory), as --id-from; "" for none.
	IDList string
}

// DuplicateIDError is returned when two inputs would get the same id.
type DuplicateIDError struct {
	ID            string
	First, Second string // their paths
}

func (e *DuplicateIDError) Error() string {
	return fmt.Sprintf("%s and %s would both get the id '%s'; give the inputs their ids with an "+
		"id list (lines ID<TAB>PATH), or pass their common parent directory", e.First, e.Second,
		e.ID)
}

// CollectInputs turns the arguments of a batch (files and directories) and an optional id list
// into inputs with unique ids, by the rule of the vinfringe command (docs/cli.md, "Inputs and
// ids"): a file named directly gets its base name without extension; a file found below a
// directory argument gets its path relative to that directory, without extension, with '/'
// separators (season1/ep01); a line of the id list gets its ID. Directories are walked
// recursively in byte order of the names, skipping names that start with '.' and symbolic links
// to directories. Two inputs with one id give a *DuplicateIDError before anything is returned.
func CollectInputs(args []string, o *InputOptions) ([]Input, error) {
	exts := DefaultExtensions
	list := ""
	if o != nil {
		if o.Extensions != nil {
			exts = o.Extensions
		}
		list = o.IDList
	}
	var in []Input
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			in = append(in, Input{ID: stripExt(filepath.Base(arg)), Path: arg})
			continue
		}
		found, err := walkDir(arg, "", exts)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: the directory holds no file with the extensions %s",
				arg, strings.Join(exts, ","))
		}
		in = append(in, found...)
	}
	if list != "" {
		listed, err := readIDList(list)
		if err != nil {
			return nil, err
		}
		in = append(in, listed...)
	}
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return in[order[a]].ID < in[order[b]].ID })
	for k := 1; k < len(order); k++ {
		a, b := in[order[k-1]], in[order[k]]
		if a.ID == b.ID {
			return nil, &DuplicateIDError{ID: a.ID, First: a.Path, Second: b.Path}
		}
	}
	return in, nil
}

// stripExt drops the last extension of a name (a leading dot is not one).
func stripExt(name string) string {
	base := name[strings.LastIndex(name, "/")+1:]
	if dot := strings.LastIndex(base, "."); dot > 0 {
		return name[:len(name)-len(base)+dot]
	}
	return name
}

func extWanted(exts []string, name string) bool {
	dot := strings.LastIndex(name, ".")
	for _, e := range exts {
		if e == "*" {
			return true
		}
		if dot > 0 && strings.EqualFold(strings.TrimPrefix(e, "."), name[dot+1:]) {
			return true
		}
	}
	return false
}

func walkDir(root, rel string, exts []string) ([]Input, error) {
	dir := root
	if rel != "" {
		dir = filepath.Join(root, rel)
	}
	entries, err := os.ReadDir(dir) // sorted by name, byte order
	if err != nil {
		return nil, err
	}
	var out []Input
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		sub := name
		if rel != "" {
			sub = rel + "/" + name
		}
		path := filepath.Join(dir, name)
		st, err := os.Stat(path) // follows links to files
		if err != nil {
			continue // a dangling link: not an input
		}
		if st.IsDir() {
			if e.Type()&fs.ModeSymlink != 0 {
				continue // no loops through links to directories
			}
			more, err := walkDir(root, sub, exts)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		} else if st.Mode().IsRegular() && extWanted(exts, name) {
			out = append(out, Input{ID: stripExt(sub), Path: path})
		}
	}
	return out, nil
}

func readIDList(list string) ([]Input, error) {
	f, err := os.Open(list)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Input
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" && line[0] != '#' {
			id, path, ok := strings.Cut(line, "\t")
			if !ok || id == "" || path == "" {
				return nil, fmt.Errorf("%s:%d: expected ID<TAB>PATH", list, n)
			}
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(list), path)
			}
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				return nil, fmt.Errorf("%s:%d: %s is a directory (the list names files)", list, n,
					path)
			}
			out = append(out, Input{ID: id, Path: path})
		}
		if err != nil {
			return out, nil
		}
	}
}
