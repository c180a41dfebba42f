package vinfringe

import (
	"runtime"
	"sync"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// Index is a searchable catalogue of reference embeddings. Search, Save, Len and ID may run
// from many goroutines at once; Add and Close take the index exclusively (the binding locks).
type Index struct {
	mu sync.RWMutex
	h  *capi.Index
}

// Hit is one search result.
type Hit struct {
	ID    string
	Score float32 // as Match.Score
	Match Match   // the full comparison behind the hit
}

func newIndex(h *capi.Index) *Index {
	ix := &Index{h: h}
	runtime.SetFinalizer(ix, func(ix *Index) { _ = ix.Close() })
	return ix
}

// NewIndex creates an empty index; its model is fixed by the first embedding added.
func NewIndex() (*Index, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.IndexCreate()
	if f != nil {
		return nil, wrap(f)
	}
	return newIndex(h), nil
}

// LoadIndex reads an index file written by Save or the vinfringe command.
func LoadIndex(path string) (*Index, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.IndexLoad(path)
	if f != nil {
		return nil, wrap(f)
	}
	return newIndex(h), nil
}

// Close releases the index. Safe to call more than once.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.h != nil {
		capi.IndexFree(ix.h)
		ix.h = nil
		runtime.SetFinalizer(ix, nil)
	}
	return nil
}

// Add adds a reference under id. The embedding is copied; it may be closed afterwards.
func (ix *Index) Add(id string, e *Embedding) error {
	eh, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.RUnlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.h == nil {
		return closedError("index")
	}
	return wrap(capi.IndexAdd(ix.h, id, eh))
}

// Len is the number of references (0 once closed).
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return 0
	}
	return int(capi.IndexSize(ix.h))
}

// ID returns reference i's id; ok is false if i is out of range.
func (ix *Index) ID(i int) (id string, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil || i < 0 || i > 1<<31-1 {
		return "", false
	}
	return capi.IndexID(ix.h, int32(i))
}

// IDs returns every reference id in insertion order.
func (ix *Index) IDs() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return nil
	}
	n := capi.IndexSize(ix.h)
	ids := make([]string, 0, n)
	for i := int32(0); i < n; i++ {
		id, _ := capi.IndexID(ix.h, i)
		ids = append(ids, id)
	}
	return ids
}

// Search returns the k references most similar to query, best first (k <= 0: 10).
func (ix *Index) Search(query *Embedding, k int) ([]Hit, error) {
	qh, err := query.lock()
	if err != nil {
		return nil, err
	}
	defer query.mu.RUnlock()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return nil, closedError("index")
	}
	if k > 1<<31-1 {
		k = 1<<31 - 1
	}
	hits, f := capi.IndexSearch(ix.h, qh, int32(k))
	if f != nil {
		return nil, wrap(f)
	}
	defer capi.HitsFree(hits)
	n := capi.HitsCount(hits)
	out := make([]Hit, 0, n)
	for i := int32(0); i < n; i++ {
		hit := Hit{ID: capi.HitsID(hits, i), Score: capi.HitsScore(hits, i)}
		if mh := capi.HitsMatch(hits, i); mh != nil {
			m, err := readMatch(mh)
			if err != nil {
				return nil, err
			}
			hit.Match = *m
		}
		out = append(out, hit)
	}
	return out, nil
}

// Save writes the index to a file (atomically: temporary name, then rename).
func (ix *Index) Save(path string) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return closedError("index")
	}
	return wrap(capi.IndexSave(ix.h, path))
}
