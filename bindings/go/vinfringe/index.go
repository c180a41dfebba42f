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

// Index kinds (vi_index_kind): how frame vectors are searched.
const (
	IndexAuto  int32 = 0 // exact below 100 000 frame vectors, IVF-PQ above
	IndexExact int32 = 1
	IndexHNSW  int32 = 2
	IndexIVFPQ int32 = 3
)

// IndexOptions are vi_index_options; zero fields mean the library's defaults.
type IndexOptions struct {
	Kind           int32 // IndexAuto, IndexExact, IndexHNSW or IndexIVFPQ
	Candidates     int32 // references re-ranked by the full comparison (20)
	FrameNeighbors int32 // nearest reference frames per query frame (16)
	Effort         int32 // HNSW efSearch / IVF nprobe (64 / 16)
	ReadOnly       bool  // OpenIndex: never create or write
}

func (o *IndexOptions) raw() capi.IndexOptions {
	if o == nil {
		return capi.IndexOptions{}
	}
	return capi.IndexOptions{Kind: o.Kind, Candidates: o.Candidates,
		FrameNeighbors: o.FrameNeighbors, Effort: o.Effort, ReadOnly: o.ReadOnly}
}

// NewIndexWith creates an empty in-memory index with options (nil: defaults).
func NewIndexWith(o *IndexOptions) (*Index, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.IndexCreateWith(o.raw())
	if f != nil {
		return nil, wrap(f)
	}
	return newIndex(h), nil
}

// OpenIndex opens (or creates) the on-disk, appendable index whose manifest is path; its
// vectors live in path+".<uid>.vec" (memory-mapped) and its FAISS cache in path+".faiss". Every Add is
// committed to disk; Close flushes the FAISS cache.
func OpenIndex(path string, o *IndexOptions) (*Index, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.IndexOpen(path, o.raw())
	if f != nil {
		return nil, wrap(f)
	}
	return newIndex(h), nil
}

// Flush writes the FAISS cache of an on-disk index (a no-op otherwise).
func (ix *Index) Flush() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.h == nil {
		return closedError("index")
	}
	return wrap(capi.IndexFlush(ix.h))
}

// KindUsed is the index kind in use now (never IndexAuto).
func (ix *Index) KindUsed() int32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return IndexExact
	}
	return capi.IndexKindUsed(ix.h)
}

// FrameCount is the number of frame vectors (indexed seconds at 1 fps).
func (ix *Index) FrameCount() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.h == nil {
		return 0
	}
	return capi.IndexFrameCount(ix.h)
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
