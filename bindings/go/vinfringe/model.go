package vinfringe

import (
	"context"
	"runtime"
	"sync"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// Model is a loaded model (backbone + embedding head). It is immutable and may be used by many
// goroutines at once; Close waits for running embeddings to finish.
type Model struct {
	mu       sync.RWMutex
	h        *capi.Model
	closed   bool // Close was called; h stays until the last trainer on it is closed
	trainers int  // open Trainers built on this model
}

func newModel(h *capi.Model) *Model {
	m := &Model{h: h}
	runtime.SetFinalizer(m, func(m *Model) { _ = m.Close() })
	return m
}

// LoadDefaultModel loads the model built into the library.
func LoadDefaultModel() (*Model, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.ModelLoad("", true)
	if f != nil {
		return nil, wrap(f)
	}
	return newModel(h), nil
}

// LoadModel loads a .vimodel file.
func LoadModel(path string) (*Model, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.ModelLoad(path, false)
	if f != nil {
		return nil, wrap(f)
	}
	return newModel(h), nil
}

// LoadModelBytes loads a model from the bytes of a .vimodel file (copied).
func LoadModelBytes(data []byte) (*Model, error) {
	if versionErr != nil {
		return nil, versionErr
	}
	h, f := capi.ModelLoadMemory(data)
	if f != nil {
		return nil, wrap(f)
	}
	return newModel(h), nil
}

// Close releases the model. Embeddings made with it stay valid. If Trainers still use it, the
// C model is released when the last of them is closed. Safe to call more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.freeLocked()
	return nil
}

func (m *Model) freeLocked() {
	if m.h != nil && m.trainers == 0 {
		capi.ModelFree(m.h)
		m.h = nil
		runtime.SetFinalizer(m, nil)
	}
}

// acquire and release count the trainers that need the C model to stay loaded.
func (m *Model) acquire() (*capi.Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, closedError("model")
	}
	m.trainers++
	return m.h, nil
}

func (m *Model) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trainers--
	if m.closed {
		m.freeLocked()
	}
}

func (m *Model) info(get func(*capi.Model) int32) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0
	}
	return int(get(m.h))
}

// Dim is the dimension of the embeddings the model produces (0 once closed).
func (m *Model) Dim() int { return m.info(capi.ModelDim) }

// FeatureDim is the dimension of the backbone's frame features.
func (m *Model) FeatureDim() int { return m.info(capi.ModelFeatureDim) }

// InputSize is the side of the square RGB image the backbone takes.
func (m *Model) InputSize() int { return m.info(capi.ModelInputSize) }

// ID is the model identifier (name and weight checksum).
func (m *Model) ID() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ""
	}
	return capi.ModelID(m.h)
}

// Calibrated reports whether the model carries a fitted calibration (docs/thresholds.md): its
// scores are then probabilities and Threshold its recommended verdict threshold.
func (m *Model) Calibrated() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return !m.closed && capi.ModelIsCalibrated(m.h)
}

// Threshold is the model's recommended threshold of the copy verdict (0 once closed).
func (m *Model) Threshold() float32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0
	}
	return capi.ModelThreshold(m.h)
}

// CalibrationInfo says how the model's calibration was fitted ("" when uncalibrated).
func (m *Model) CalibrationInfo() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ""
	}
	return capi.ModelCalibrationInfo(m.h)
}

// Description is the human-readable description stored in the model file.
func (m *Model) Description() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ""
	}
	return capi.ModelDescription(m.h)
}

// EmbedOptions tunes Embed; the zero value (or nil) means the library's defaults.
type EmbedOptions struct {
	FPS           float32 // frames sampled per second of video; 0 = 1.0
	MaxFrames     int     // stop after this many sampled frames; 0 = no cap
	KeyframesOnly bool    // decode keyframes only (faster, coarser)
	DecodeThreads int     // FFmpeg decoding threads; 0 = automatic
	// Progress, if set, is called with seconds done and total (0 when unknown) as the video is
	// read, on the goroutine that called Embed. Returning false cancels (ErrCancelled).
	Progress func(done, total float64) bool
}

// Embed decodes a video file, samples frames and returns its Embedding. Cancelling ctx stops
// the work at the next batch of frames; the error then matches both ErrCancelled and
// ctx.Err() under errors.Is.
func (m *Model) Embed(ctx context.Context, path string, opts *EmbedOptions) (*Embedding, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: ErrCancelled, Message: "not started: " + err.Error(), cause: err}
	}
	var o EmbedOptions
	if opts != nil {
		o = *opts
	}
	var progress capi.ProgressFunc
	if o.Progress != nil || ctx.Done() != nil {
		user := o.Progress
		progress = func(done, total float64) bool {
			if ctx.Err() != nil {
				return false
			}
			if user != nil && !user(done, total) {
				return false
			}
			return ctx.Err() == nil // the callback itself may have cancelled ctx
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedError("model")
	}
	h, f := capi.EmbedVideo(m.h, path, capi.EmbedOptions{
		FPS: o.FPS, MaxFrames: int32(o.MaxFrames), KeyframesOnly: o.KeyframesOnly,
		DecodeThreads: int32(o.DecodeThreads),
	}, progress)
	if f != nil {
		e := &Error{Code: Code(f.Code), Message: f.Message}
		if e.Code == ErrCancelled {
			e.cause = ctx.Err()
		}
		return nil, e
	}
	return newEmbedding(h), nil
}

// EmbedFrames embeds frames the caller decoded: nFrames packed RGB24 images of width x height,
// rows of stride bytes (0: width*3), frame i starting at byte i*stride*height; ptsUS gives each
// frame's time in microseconds (nil: 1 fps).
func (m *Model) EmbedFrames(rgb []byte, nFrames, width, height, stride int,
	ptsUS []int64) (*Embedding, error) {
	row := stride
	if row <= 0 {
		row = width * 3
	}
	if nFrames > 0 && width > 0 && height > 0 {
		need := (nFrames-1)*row*height + (height-1)*row + width*3
		if len(rgb) < need {
			return nil, &Error{Code: ErrInvalidArg, Message: "rgb buffer too small for the frames"}
		}
	}
	if ptsUS != nil && len(ptsUS) != nFrames {
		return nil, &Error{Code: ErrInvalidArg, Message: "len(ptsUS) differs from nFrames"}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedError("model")
	}
	h, f := capi.EmbedFrames(m.h, rgb, int32(nFrames), int32(width), int32(height),
		int32(stride), ptsUS)
	runtime.KeepAlive(rgb)
	if f != nil {
		return nil, wrap(f)
	}
	return newEmbedding(h), nil
}
