package vinfringe

import (
	"runtime"
	"sync"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// Embedding is a video's fingerprint: one L2-normalised vector per sampled frame, their
// timestamps and a video-level vector. Immutable; safe to read from many goroutines. Accessors
// return copies in Go memory, which stay valid after Close.
type Embedding struct {
	mu       sync.RWMutex
	h        *capi.Embedding
	dim, num int
}

func newEmbedding(h *capi.Embedding) *Embedding {
	e := &Embedding{h: h, dim: int(capi.EmbeddingDim(h)), num: int(capi.EmbeddingFrameCount(h))}
	runtime.SetFinalizer(e, func(e *Embedding) { _ = e.Close() })
	return e
}

// LoadEmbedding reads an embedding file (.vemb).
func LoadEmbedding(path string) (*Embedding, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.EmbeddingLoad(path)
	if f != nil {
		return nil, wrap(f)
	}
	return newEmbedding(h), nil
}

// EmbeddingFromBytes parses bytes written by MarshalBinary (the .vemb file bytes).
func EmbeddingFromBytes(data []byte) (*Embedding, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.EmbeddingFromMemory(data)
	if f != nil {
		return nil, wrap(f)
	}
	return newEmbedding(h), nil
}

// Close releases the embedding. Safe to call more than once.
func (e *Embedding) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h != nil {
		capi.EmbeddingFree(e.h)
		e.h = nil
		runtime.SetFinalizer(e, nil)
	}
	return nil
}

// handle returns the C handle under the read lock; the caller must call e.mu.RUnlock().
func (e *Embedding) lock() (*capi.Embedding, error) {
	e.mu.RLock()
	if e.h == nil {
		e.mu.RUnlock()
		return nil, closedError("embedding")
	}
	return e.h, nil
}

// Dim is the vector dimension.
func (e *Embedding) Dim() int { return e.dim }

// FrameCount is the number of sampled frames.
func (e *Embedding) FrameCount() int { return e.num }

// Duration is the video's duration in seconds (0 once closed).
func (e *Embedding) Duration() float64 {
	h, err := e.lock()
	if err != nil {
		return 0
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingDuration(h)
}

// Bits of Warnings: decoding problems met while embedding.
const (
	WarnTruncated     = capi.EmbedWarnTruncated     // decoding ended well before the declared duration
	WarnDamagedFrames = capi.EmbedWarnDamagedFrames // some packets or frames were skipped
)

// Warnings returns the WarnTruncated / WarnDamagedFrames bits (0: the file decoded cleanly to
// its end; also 0 once closed).
func (e *Embedding) Warnings() int32 {
	h, err := e.lock()
	if err != nil {
		return 0
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingWarnings(h)
}

// ModelID identifies the model that made the embedding ("" once closed).
func (e *Embedding) ModelID() string {
	h, err := e.lock()
	if err != nil {
		return ""
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingModelID(h)
}

// Timestamps returns each sampled frame's presentation time in microseconds (nil once closed).
func (e *Embedding) Timestamps() []int64 {
	h, err := e.lock()
	if err != nil {
		return nil
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingTimestamps(h)
}

// VideoVector returns the video-level vector (Dim floats; nil once closed).
func (e *Embedding) VideoVector() []float32 {
	h, err := e.lock()
	if err != nil {
		return nil
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingVideoVector(h)
}

// FrameVectors returns all frame vectors, FrameCount x Dim floats, row-major (nil once closed).
func (e *Embedding) FrameVectors() []float32 {
	h, err := e.lock()
	if err != nil {
		return nil
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingFrameVectors(h)
}

// FrameVector returns frame i's vector, or nil if i is out of range.
func (e *Embedding) FrameVector(i int) []float32 {
	if i < 0 || i >= e.num {
		return nil
	}
	all := e.FrameVectors()
	if all == nil {
		return nil
	}
	return all[i*e.dim : (i+1)*e.dim : (i+1)*e.dim]
}

// Save writes the embedding to a .vemb file (atomically: temporary name, then rename).
func (e *Embedding) Save(path string) error {
	h, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return wrap(capi.EmbeddingSave(h, path))
}

// MarshalBinary serialises the embedding (the bytes Save writes); it implements
// encoding.BinaryMarshaler.
func (e *Embedding) MarshalBinary() ([]byte, error) {
	h, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.RUnlock()
	data, f := capi.EmbeddingToMemory(h)
	if f != nil {
		return nil, wrap(f)
	}
	return data, nil
}
