// Package capi is the raw cgo layer of the Go binding: one Go function per C function of
// include/vinfringe.h, with Go types at the boundary and nothing else. Handles are opaque
// pointers the caller must free; fallible calls return a *Failure carrying the status and the
// library's message, copied in the same C call as the failing function (see capi.h).
//
// Use the idiomatic package github.com/libvinfringe/vinfringe/bindings/go/vinfringe instead.
package capi

/*
#cgo pkg-config: vinfringe
#include <stdlib.h>
#include "capi.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Opaque handle types (pointers to the library's incomplete structs).
type (
	Model      C.vi_model
	Embedding  C.vi_embedding
	Match      C.vi_match
	Index      C.vi_index
	Hits       C.vi_hits
	Trainer    C.vi_trainer
	Calibrator C.vi_calibrator
)

// Failure is a failed call: the vi_status and vi_last_error() of the calling thread.
type Failure struct {
	Code    int32
	Message string
}

// Segment mirrors vi_segment.
type Segment struct {
	QueryStart, QueryEnd, RefStart, RefEnd float64
	Score                                  float32
}

// fail turns a wrapper's status and malloc'ed message into a *Failure (nil on VI_OK).
//
// It takes the message's address, not its value: in fail(C.call(&msg), &msg) Go does not
// promise to evaluate a plain operand after the call, but the dereference below happens after.
func fail(st C.vi_status, pmsg **C.char) *Failure {
	msg := *pmsg
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
	}
	if st == C.VI_OK {
		return nil
	}
	f := &Failure{Code: int32(st)}
	if msg != nil {
		f.Message = C.GoString(msg)
	}
	return f
}

func cstr(s string) *C.char { return C.CString(s) }

// ---- version, status, global settings ----

func Version() uint32 { return uint32(C.vi_version()) }

func VersionString() string { return C.GoString(C.vi_version_string()) }

func FFmpegLicense() string { return C.GoString(C.vi_ffmpeg_license()) }

func FFmpegVersion() string { return C.GoString(C.vi_ffmpeg_version()) }

func StatusString(code int32) string { return C.GoString(C.vi_status_str(C.vi_status(code))) }

// LastError reads vi_last_error() of whatever OS thread runs this goroutine; only useful right
// after a call on a locked thread. The wrappers above make it unnecessary.
func LastError() string { return C.GoString(C.vi_last_error()) }

func SetThreads(n int32) *Failure {
	var msg *C.char
	return fail(C.vigo_set_threads(C.int32_t(n), &msg), &msg)
}

var (
	logMu sync.RWMutex
	logFn func(level int32, msg string)
)

// LogSet installs fn as the library's log sink (vi_log_set); nil silences the library.
func LogSet(fn func(level int32, msg string)) {
	logMu.Lock()
	logFn = fn
	logMu.Unlock()
	on := C.int32_t(0)
	if fn != nil {
		on = 1
	}
	C.vigo_log_enable(on)
}

//export vigoLog
func vigoLog(level C.int32_t, msg *C.char) {
	logMu.RLock()
	fn := logFn
	logMu.RUnlock()
	if fn == nil {
		return
	}
	defer func() { _ = recover() }() // a panic must not unwind through C
	fn(int32(level), C.GoString(msg))
}

// ---- model ----

// ModelLoad loads a model file; builtin selects the model compiled into the library.
func ModelLoad(path string, builtin bool) (*Model, *Failure) {
	var cpath *C.char
	if !builtin {
		cpath = cstr(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	var out *C.vi_model
	var msg *C.char
	if f := fail(C.vigo_model_load(cpath, &out, &msg), &msg); f != nil {
		return nil, f
	}
	return (*Model)(out), nil
}

func ModelLoadMemory(data []byte) (*Model, *Failure) {
	var out *C.vi_model
	var msg *C.char
	if f := fail(C.vigo_model_load_memory(bytesPtr(data), C.size_t(len(data)), &out, &msg),
		&msg); f != nil {
		return nil, f
	}
	return (*Model)(out), nil
}

func ModelFree(m *Model)              { C.vi_model_free((*C.vi_model)(m)) }
func ModelDim(m *Model) int32         { return int32(C.vi_model_dim((*C.vi_model)(m))) }
func ModelFeatureDim(m *Model) int32  { return int32(C.vi_model_feature_dim((*C.vi_model)(m))) }
func ModelInputSize(m *Model) int32   { return int32(C.vi_model_input_size((*C.vi_model)(m))) }
func ModelID(m *Model) string         { return C.GoString(C.vi_model_id((*C.vi_model)(m))) }
func ModelIsCalibrated(m *Model) bool { return C.vi_model_is_calibrated((*C.vi_model)(m)) != 0 }
func ModelThreshold(m *Model) float32 { return float32(C.vi_model_threshold((*C.vi_model)(m))) }
func ModelCalibrationInfo(m *Model) string {
	return C.GoString(C.vi_model_calibration_info((*C.vi_model)(m)))
}
func EmbeddingIsCalibrated(e *Embedding) bool {
	return C.vi_embedding_is_calibrated((*C.vi_embedding)(e)) != 0
}
func ModelDescription(m *Model) string { return C.GoString(C.vi_model_description((*C.vi_model)(m))) }

// ---- embedding ----

// EmbedOptions mirrors vi_embed_options without the callback fields.
type EmbedOptions struct {
	FPS           float32
	MaxFrames     int32
	KeyframesOnly bool
	DecodeThreads int32
}

// ProgressFunc receives (done, total) seconds; returning false cancels the embedding.
type ProgressFunc func(done, total float64) bool

type progressState struct {
	fn       ProgressFunc
	panicked bool
	panicVal interface{}
}

//export vigoProgress
func vigoProgress(h C.uintptr_t, done, total C.double) (cancel C.int) {
	st := cgo.Handle(h).Value().(*progressState)
	if st.panicked {
		return 1
	}
	defer func() {
		if r := recover(); r != nil { // re-panicked by EmbedVideo once C has returned
			st.panicked, st.panicVal = true, r
			cancel = 1
		}
	}()
	if !st.fn(float64(done), float64(total)) {
		return 1
	}
	return 0
}

// EmbedVideo runs vi_embed_video. progress may be nil. A panic inside progress cancels the call
// and is re-raised here, after the C call has returned.
func EmbedVideo(m *Model, path string, o EmbedOptions, progress ProgressFunc) (*Embedding,
	*Failure) {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var handle C.uintptr_t
	var state *progressState
	if progress != nil {
		state = &progressState{fn: progress}
		h := cgo.NewHandle(state)
		defer h.Delete()
		handle = C.uintptr_t(h)
	}
	kf := C.int32_t(0)
	if o.KeyframesOnly {
		kf = 1
	}
	var out *C.vi_embedding
	var msg *C.char
	st := C.vigo_embed_video((*C.vi_model)(m), cpath, C.float(o.FPS), C.int32_t(o.MaxFrames), kf,
		C.int32_t(o.DecodeThreads), handle, &out, &msg)
	f := fail(st, &msg)
	if state != nil && state.panicked {
		C.vi_embedding_free(out)
		panic(state.panicVal)
	}
	if f != nil {
		return nil, f
	}
	return (*Embedding)(out), nil
}

// EmbedFrames runs vi_embed_frames on packed RGB24 frames; pts may be nil (1 fps).
func EmbedFrames(m *Model, rgb []byte, nFrames, width, height, stride int32,
	pts []int64) (*Embedding, *Failure) {
	var cpts *C.int64_t
	if len(pts) > 0 {
		cpts = (*C.int64_t)(unsafe.Pointer(&pts[0]))
	}
	var out *C.vi_embedding
	var msg *C.char
	st := C.vigo_embed_frames((*C.vi_model)(m), (*C.uint8_t)(bytesPtr(rgb)), C.int32_t(nFrames),
		C.int32_t(width), C.int32_t(height), C.int32_t(stride), cpts, &out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Embedding)(out), nil
}

func EmbeddingFree(e *Embedding) { C.vi_embedding_free((*C.vi_embedding)(e)) }
func EmbeddingDim(e *Embedding) int32 {
	return int32(C.vi_embedding_dim((*C.vi_embedding)(e)))
}
func EmbeddingFrameCount(e *Embedding) int32 {
	return int32(C.vi_embedding_frame_count((*C.vi_embedding)(e)))
}
func EmbeddingDuration(e *Embedding) float64 {
	return float64(C.vi_embedding_duration((*C.vi_embedding)(e)))
}

// Bits of EmbeddingWarnings (vi_embed_warning).
const (
	EmbedWarnTruncated     = int32(C.VI_EMBED_WARN_TRUNCATED)
	EmbedWarnDamagedFrames = int32(C.VI_EMBED_WARN_DAMAGED_FRAMES)
)

// EmbeddingWarnings returns the vi_embed_warning bits of e (0: decoded cleanly to its end).
func EmbeddingWarnings(e *Embedding) int32 {
	return int32(C.vi_embedding_warnings((*C.vi_embedding)(e)))
}
func EmbeddingModelID(e *Embedding) string {
	return C.GoString(C.vi_embedding_model_id((*C.vi_embedding)(e)))
}

// EmbeddingTimestamps copies the frame timestamps (microseconds) into Go memory.
func EmbeddingTimestamps(e *Embedding) []int64 {
	n := int(EmbeddingFrameCount(e))
	p := C.vi_embedding_timestamps((*C.vi_embedding)(e))
	out := make([]int64, n)
	if p != nil && n > 0 {
		copy(out, unsafe.Slice((*int64)(unsafe.Pointer(p)), n))
	}
	return out
}

// EmbeddingVideoVector copies the video-level vector into Go memory.
func EmbeddingVideoVector(e *Embedding) []float32 {
	n := int(EmbeddingDim(e))
	return copyFloats(C.vi_embedding_video_vector((*C.vi_embedding)(e)), n)
}

// EmbeddingFrameVectors copies the frame vectors (frame_count x dim, row-major) into Go memory.
func EmbeddingFrameVectors(e *Embedding) []float32 {
	n := int(EmbeddingDim(e)) * int(EmbeddingFrameCount(e))
	return copyFloats(C.vi_embedding_frame_vectors((*C.vi_embedding)(e)), n)
}

func copyFloats(p *C.float, n int) []float32 {
	out := make([]float32, n)
	if p != nil && n > 0 {
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(p)), n))
	}
	return out
}

func EmbeddingSave(e *Embedding, path string) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_embedding_save((*C.vi_embedding)(e), cpath, &msg), &msg)
}

func EmbeddingLoad(path string) (*Embedding, *Failure) {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var out *C.vi_embedding
	var msg *C.char
	if f := fail(C.vigo_embedding_load(cpath, &out, &msg), &msg); f != nil {
		return nil, f
	}
	return (*Embedding)(out), nil
}

// EmbeddingToMemory serialises into Go memory (the C buffer is freed with vi_buffer_free).
func EmbeddingToMemory(e *Embedding) ([]byte, *Failure) {
	var data unsafe.Pointer
	var size C.size_t
	var msg *C.char
	if f := fail(C.vigo_embedding_to_memory((*C.vi_embedding)(e), &data, &size, &msg),
		&msg); f != nil {
		return nil, f
	}
	defer C.vi_buffer_free(data)
	return C.GoBytes(data, C.int(size)), nil
}

func EmbeddingFromMemory(data []byte) (*Embedding, *Failure) {
	var out *C.vi_embedding
	var msg *C.char
	if f := fail(C.vigo_embedding_from_memory(bytesPtr(data), C.size_t(len(data)), &out, &msg),
		&msg); f != nil {
		return nil, f
	}
	return (*Embedding)(out), nil
}

// BufferFree is vi_buffer_free, for completeness (EmbeddingToMemory already frees).
func BufferFree(p unsafe.Pointer) { C.vi_buffer_free(p) }

// ---- compare ----

func Compare(query, ref *Embedding, localize bool, threshold float32) (*Match, *Failure) {
	loc := C.int32_t(0)
	if localize {
		loc = 1
	}
	var out *C.vi_match
	var msg *C.char
	st := C.vigo_compare((*C.vi_embedding)(query), (*C.vi_embedding)(ref), loc, C.float(threshold),
		&out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Match)(out), nil
}

func MatchFree(m *Match)          { C.vi_match_free((*C.vi_match)(m)) }
func MatchScore(m *Match) float32 { return float32(C.vi_match_score((*C.vi_match)(m))) }
func MatchVideoSimilarity(m *Match) float32 {
	return float32(C.vi_match_video_similarity((*C.vi_match)(m)))
}
func MatchIsCopy(m *Match) bool { return C.vi_match_is_copy((*C.vi_match)(m)) != 0 }
func MatchThreshold(m *Match) float32 {
	return float32(C.vi_match_threshold((*C.vi_match)(m)))
}
func MatchIsCalibrated(m *Match) bool { return C.vi_match_is_calibrated((*C.vi_match)(m)) != 0 }
func MatchSegmentCount(m *Match) int32 {
	return int32(C.vi_match_segment_count((*C.vi_match)(m)))
}

func MatchSegment(m *Match, i int32) (Segment, *Failure) {
	var seg C.vi_segment
	var msg *C.char
	if f := fail(C.vigo_match_segment((*C.vi_match)(m), C.int32_t(i), &seg, &msg), &msg); f != nil {
		return Segment{}, f
	}
	return Segment{float64(seg.query_start), float64(seg.query_end), float64(seg.ref_start),
		float64(seg.ref_end), float32(seg.score)}, nil
}

// ---- index ----

func IndexCreate() (*Index, *Failure) {
	var out *C.vi_index
	var msg *C.char
	if f := fail(C.vigo_index_create(&out, &msg), &msg); f != nil {
		return nil, f
	}
	return (*Index)(out), nil
}

func IndexFree(ix *Index) { C.vi_index_free((*C.vi_index)(ix)) }

func IndexAdd(ix *Index, id string, e *Embedding) *Failure {
	cid := cstr(id)
	defer C.free(unsafe.Pointer(cid))
	var msg *C.char
	return fail(C.vigo_index_add((*C.vi_index)(ix), cid, (*C.vi_embedding)(e), &msg), &msg)
}

func IndexSize(ix *Index) int32 { return int32(C.vi_index_size((*C.vi_index)(ix))) }

// IndexID returns reference i's id; ok is false when i is out of range.
func IndexID(ix *Index, i int32) (id string, ok bool) {
	p := C.vi_index_id((*C.vi_index)(ix), C.int32_t(i))
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

func IndexSearch(ix *Index, query *Embedding, k int32) (*Hits, *Failure) {
	var out *C.vi_hits
	var msg *C.char
	st := C.vigo_index_search((*C.vi_index)(ix), (*C.vi_embedding)(query), C.int32_t(k), &out,
		&msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Hits)(out), nil
}

func IndexSave(ix *Index, path string) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_index_save((*C.vi_index)(ix), cpath, &msg), &msg)
}

func IndexLoad(path string) (*Index, *Failure) {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var out *C.vi_index
	var msg *C.char
	if f := fail(C.vigo_index_load(cpath, &out, &msg), &msg); f != nil {
		return nil, f
	}
	return (*Index)(out), nil
}

// IndexOptions mirrors vi_index_options (0 fields: library defaults).
type IndexOptions struct {
	Kind, Candidates, FrameNeighbors, Effort int32
	ReadOnly                                 bool
}

func IndexCreateWith(o IndexOptions) (*Index, *Failure) {
	var out *C.vi_index
	var msg *C.char
	st := C.vigo_index_create_with(C.int32_t(o.Kind), C.int32_t(o.Candidates),
		C.int32_t(o.FrameNeighbors), C.int32_t(o.Effort), &out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Index)(out), nil
}

func IndexOpen(path string, o IndexOptions) (*Index, *Failure) {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	ro := C.int32_t(0)
	if o.ReadOnly {
		ro = 1
	}
	var out *C.vi_index
	var msg *C.char
	st := C.vigo_index_open(cpath, C.int32_t(o.Kind), C.int32_t(o.Candidates),
		C.int32_t(o.FrameNeighbors), C.int32_t(o.Effort), ro, &out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Index)(out), nil
}

func IndexFlush(ix *Index) *Failure {
	var msg *C.char
	return fail(C.vigo_index_flush((*C.vi_index)(ix), &msg), &msg)
}

func IndexKindUsed(ix *Index) int32 { return int32(C.vi_index_kind_used((*C.vi_index)(ix))) }
func IndexFrameCount(ix *Index) int64 {
	return int64(C.vi_index_frame_count((*C.vi_index)(ix)))
}

func HitsFree(h *Hits)        { C.vi_hits_free((*C.vi_hits)(h)) }
func HitsCount(h *Hits) int32 { return int32(C.vi_hits_count((*C.vi_hits)(h))) }
func HitsID(h *Hits, i int32) string {
	return C.GoString(C.vi_hits_id((*C.vi_hits)(h), C.int32_t(i)))
}
func HitsScore(h *Hits, i int32) float32 {
	return float32(C.vi_hits_score((*C.vi_hits)(h), C.int32_t(i)))
}

// HitsMatch is the borrowed comparison behind hit i (nil if out of range); it lives as long as
// the hits and must not be freed.
func HitsMatch(h *Hits, i int32) *Match {
	return (*Match)(unsafe.Pointer(C.vi_hits_match((*C.vi_hits)(h), C.int32_t(i))))
}

// ---- training ----

// TrainOptions mirrors vi_train_options (without struct_size).
type TrainOptions struct {
	Seed                    uint64
	FPS                     float32
	MaxFrames, Views        int32
	BatchPairs, MaxNegative int32
	LearningRate            float32
	WeightDecay             float32
	LRStepEpochs            int32
	CacheDir                string // "" = features kept in memory only
	Checkpoint              string // "" = no checkpoint
}

// TrainOptionsDefault returns the library's defaults (vi_train_options_init).
func TrainOptionsDefault() (TrainOptions, *Failure) {
	var o C.vi_train_options
	var msg *C.char
	if f := fail(C.vigo_train_options_init(&o, &msg), &msg); f != nil {
		return TrainOptions{}, f
	}
	return TrainOptions{uint64(o.seed), float32(o.fps), int32(o.max_frames), int32(o.views),
		int32(o.batch_pairs), int32(o.max_negatives), float32(o.learning_rate),
		float32(o.weight_decay), int32(o.lr_step_epochs), "", ""}, nil
}

func TrainerCreate(base *Model, opts TrainOptions) (*Trainer, *Failure) {
	var o C.vi_train_options
	var msg *C.char
	if f := fail(C.vigo_train_options_init(&o, &msg), &msg); f != nil {
		return nil, f
	}
	o.seed = C.uint64_t(opts.Seed)
	o.fps = C.float(opts.FPS)
	o.max_frames = C.int32_t(opts.MaxFrames)
	o.views = C.int32_t(opts.Views)
	o.batch_pairs = C.int32_t(opts.BatchPairs)
	o.max_negatives = C.int32_t(opts.MaxNegative)
	o.learning_rate = C.float(opts.LearningRate)
	o.weight_decay = C.float(opts.WeightDecay)
	o.lr_step_epochs = C.int32_t(opts.LRStepEpochs)
	if opts.CacheDir != "" { // copied by vi_trainer_create, freed when it returns
		o.cache_dir = C.CString(opts.CacheDir)
		defer C.free(unsafe.Pointer(o.cache_dir))
	}
	if opts.Checkpoint != "" { // copied as well
		o.checkpoint = C.CString(opts.Checkpoint)
		defer C.free(unsafe.Pointer(o.checkpoint))
	}
	var out *C.vi_trainer
	if f := fail(C.vigo_trainer_create((*C.vi_model)(base), &o, &out, &msg), &msg); f != nil {
		return nil, f
	}
	return (*Trainer)(out), nil
}

func TrainerFree(t *Trainer) { C.vi_trainer_free((*C.vi_trainer)(t)) }

func TrainerAddVideo(t *Trainer, path string, group int32) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_trainer_add_video((*C.vi_trainer)(t), cpath, C.int32_t(group), &msg),
		&msg)
}

func TrainerVideoCount(t *Trainer) int32 {
	return int32(C.vi_trainer_video_count((*C.vi_trainer)(t)))
}

// TrainLosses mirrors vi_train_losses.
type TrainLosses struct {
	Total, NCE, Exclusivity, MutualInfo float64
	Steps                               int32
}

// EpochFunc receives each epoch's losses; returning false stops training (VI_E_CANCELLED).
type EpochFunc func(epoch int32, l TrainLosses) bool

type epochState struct {
	fn       EpochFunc
	panicked bool
	panicVal interface{}
}

//export vigoEpoch
func vigoEpoch(h C.uintptr_t, epoch C.int32_t, l *C.vi_train_losses) (stop C.int) {
	st := cgo.Handle(h).Value().(*epochState)
	if st.panicked {
		return 1
	}
	defer func() {
		if r := recover(); r != nil { // re-panicked by TrainerRun once C has returned
			st.panicked, st.panicVal = true, r
			stop = 1
		}
	}()
	losses := TrainLosses{float64(l.total), float64(l.nce), float64(l.exclusivity),
		float64(l.mutual_info), int32(l.steps)}
	if !st.fn(int32(epoch), losses) {
		return 1
	}
	return 0
}

// TrainerRun runs vi_trainer_run; fn is called after every epoch (it must not be nil).
func TrainerRun(t *Trainer, epochs int32, fn EpochFunc) *Failure {
	state := &epochState{fn: fn}
	h := cgo.NewHandle(state)
	defer h.Delete()
	var msg *C.char
	st := C.vigo_trainer_run((*C.vi_trainer)(t), C.int32_t(epochs), C.uintptr_t(h), &msg)
	f := fail(st, &msg)
	if state.panicked {
		panic(state.panicVal)
	}
	return f
}

func TrainerSave(t *Trainer, path string) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_trainer_save((*C.vi_trainer)(t), cpath, &msg), &msg)
}

// TrainerLoadCheckpoint runs vi_trainer_load_checkpoint.
func TrainerLoadCheckpoint(t *Trainer, path string) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_trainer_load_checkpoint((*C.vi_trainer)(t), cpath, &msg), &msg)
}

// TrainerEpochsDone runs vi_trainer_epochs_done.
func TrainerEpochsDone(t *Trainer) int32 {
	return int32(C.vi_trainer_epochs_done((*C.vi_trainer)(t)))
}

// FinetuneOptions mirrors the main fields of vi_finetune_options (the rest keep their
// defaults).
type FinetuneOptions struct {
	Seed             uint64
	TrainableBlocks  int32
	Steps, Batch     int32
	LearningRate     float32
	Checkpoint       string // "" = no checkpoints
	CheckpointEvery  int32
	DMIHead          bool    // head = VI_FINETUNE_HEAD_DMI
	TemporalPositive float32 // temporal_positive
}

// FinetuneOptionsDefault returns the library's defaults (vi_finetune_options_init).
func FinetuneOptionsDefault() (FinetuneOptions, *Failure) {
	var o C.vi_finetune_options
	var msg *C.char
	if f := fail(C.vigo_finetune_options_init(&o, &msg), &msg); f != nil {
		return FinetuneOptions{}, f
	}
	return FinetuneOptions{uint64(o.seed), int32(o.trainable_blocks), int32(o.steps),
		int32(o.batch), float32(o.learning_rate), "", int32(o.checkpoint_every),
		o.head == C.VI_FINETUNE_HEAD_DMI, float32(o.temporal_positive)}, nil
}

// BackboneFinetune runs vi_backbone_finetune without a progress callback.
func BackboneFinetune(base *Model, paths []string, opts FinetuneOptions, out string) *Failure {
	var o C.vi_finetune_options
	var msg *C.char
	if f := fail(C.vigo_finetune_options_init(&o, &msg), &msg); f != nil {
		return f
	}
	o.seed = C.uint64_t(opts.Seed)
	o.trainable_blocks = C.int32_t(opts.TrainableBlocks)
	o.steps = C.int32_t(opts.Steps)
	o.batch = C.int32_t(opts.Batch)
	o.learning_rate = C.float(opts.LearningRate)
	o.checkpoint_every = C.int32_t(opts.CheckpointEvery)
	o.head = C.VI_FINETUNE_HEADLESS
	if opts.DMIHead {
		o.head = C.VI_FINETUNE_HEAD_DMI
	}
	o.temporal_positive = C.float(opts.TemporalPositive)
	if opts.Checkpoint != "" {
		o.checkpoint_path = C.CString(opts.Checkpoint)
		defer C.free(unsafe.Pointer(o.checkpoint_path))
	}
	cpaths := make([]*C.char, len(paths)+1)
	for i, p := range paths {
		cpaths[i] = C.CString(p)
	}
	defer func() {
		for _, p := range cpaths {
			C.free(unsafe.Pointer(p))
		}
	}()
	// The array of C pointers lives in C memory: cgo forbids passing Go memory holding pointers.
	arr := (**C.char)(C.malloc(C.size_t(len(cpaths)) * C.size_t(unsafe.Sizeof(cpaths[0]))))
	defer C.free(unsafe.Pointer(arr))
	copy(unsafe.Slice(arr, len(cpaths)), cpaths)
	cout := cstr(out)
	defer C.free(unsafe.Pointer(cout))
	return fail(C.vigo_backbone_finetune((*C.vi_model)(base), (**C.char)(unsafe.Pointer(arr)),
		C.int32_t(len(paths)), &o, cout, &msg), &msg)
}

// bytesPtr points at a Go byte slice for the duration of one call (the library copies or only
// reads it); nil for an empty slice.
func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func (f *Failure) String() string { return fmt.Sprintf("%d: %s", f.Code, f.Message) }

// ---- thumbnails (0.4) ----

// VideoThumbnail is vi_video_thumbnail: the image file's bytes (copied into Go memory, the C
// buffer freed) and the presentation time of the frame chosen, in microseconds.
func VideoThumbnail(path string, timeUs int64, maxSide, format int32) ([]byte, int64, *Failure) {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var data unsafe.Pointer
	var size C.size_t
	var at C.int64_t
	var msg *C.char
	st := C.vigo_video_thumbnail(cpath, C.int64_t(timeUs), C.int32_t(maxSide), C.int32_t(format),
		&data, &size, &at, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, 0, f
	}
	defer C.vi_buffer_free(data)
	return C.GoBytes(data, C.int(size)), int64(at), nil
}

// ---- calibration ----

func EmbeddingCalibrate(m *Model, e *Embedding) (*Embedding, *Failure) {
	var out *C.vi_embedding
	var msg *C.char
	st := C.vigo_embedding_calibrate((*C.vi_model)(m), (*C.vi_embedding)(e), &out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Embedding)(out), nil
}

// CalibrationReport mirrors vi_calibration_report.
type CalibrationReport struct {
	Pairs, Copies, BankVectors            int32
	MicroAP, Threshold, Precision, Recall float32
}

func CalibratorCreate(base *Model, bankSize, bankK int32, targetPrecision float32,
	verdictOnly bool) (*Calibrator, *Failure) {
	vo := C.int32_t(0)
	if verdictOnly {
		vo = 1
	}
	var out *C.vi_calibrator
	var msg *C.char
	st := C.vigo_calibrator_create((*C.vi_model)(base), C.int32_t(bankSize), C.int32_t(bankK),
		C.float(targetPrecision), vo, &out, &msg)
	if f := fail(st, &msg); f != nil {
		return nil, f
	}
	return (*Calibrator)(out), nil
}

func CalibratorFree(c *Calibrator) { C.vi_calibrator_free((*C.vi_calibrator)(c)) }

func CalibratorAddBackground(c *Calibrator, e *Embedding) *Failure {
	var msg *C.char
	return fail(C.vigo_calibrator_add_background((*C.vi_calibrator)(c), (*C.vi_embedding)(e),
		&msg), &msg)
}

func CalibratorAddReference(c *Calibrator, id string, e *Embedding) *Failure {
	cid := cstr(id)
	defer C.free(unsafe.Pointer(cid))
	var msg *C.char
	return fail(C.vigo_calibrator_add_reference((*C.vi_calibrator)(c), cid, (*C.vi_embedding)(e),
		&msg), &msg)
}

// CalibratorAddQuery adds a labelled query; copies "" means it copies no reference.
func CalibratorAddQuery(c *Calibrator, e *Embedding, copies string) *Failure {
	var cid *C.char
	if copies != "" {
		cid = cstr(copies)
		defer C.free(unsafe.Pointer(cid))
	}
	var msg *C.char
	return fail(C.vigo_calibrator_add_query((*C.vi_calibrator)(c), (*C.vi_embedding)(e), cid,
		&msg), &msg)
}

func CalibratorFit(c *Calibrator) (CalibrationReport, *Failure) {
	var r C.vi_calibration_report
	var msg *C.char
	if f := fail(C.vigo_calibrator_fit((*C.vi_calibrator)(c), &r, &msg), &msg); f != nil {
		return CalibrationReport{}, f
	}
	return CalibrationReport{int32(r.pairs), int32(r.copies), int32(r.bank_vectors),
		float32(r.micro_ap), float32(r.threshold), float32(r.precision), float32(r.recall)}, nil
}

func CalibratorSave(c *Calibrator, path string) *Failure {
	cpath := cstr(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg *C.char
	return fail(C.vigo_calibrator_save((*C.vi_calibrator)(c), cpath, &msg), &msg)
}
