package vinfringe

import (
	"context"
	"runtime"
	"sync"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// TrainOptions tunes NewTrainer. A nil *TrainOptions, or a zero field, keeps the library's
// default (seed 1, 1 fps, 60 frames per video, 4 views, 64 pairs per step, 2048 negatives,
// learning rate 1e-4, weight decay 5e-4). WeightDecay cannot be set to exactly 0 this way:
// use a tiny value instead.
type TrainOptions struct {
	Seed         uint64
	FPS          float32
	MaxFrames    int
	Views        int
	BatchPairs   int
	MaxNegatives int
	LearningRate float32
	WeightDecay  float32
	LRStepEpochs int    // multiply the learning rate by 0.1 after this many epochs; 0 = constant
	CacheDir     string // directory for the on-disk feature cache; "" = memory only
	Checkpoint   string // file written after every epoch, for LoadCheckpoint; "" = none
}

// TrainLosses are the loss terms of one epoch, each the mean over the epoch's steps.
type TrainLosses struct {
	Epoch       int     // counts from 1
	Total       float64 // the objective minimised
	NCE         float64 // sum of the InfoNCE terms
	Exclusivity float64 // D, maximised
	MutualInfo  float64 // M, minimised
	Steps       int     // optimiser steps in the epoch
}

// Trainer trains a DMI embedding head on the frozen backbone of a base model. Videos are
// decoded once when added; epochs only run the small head. A Trainer is used by one goroutine
// at a time (the binding serialises calls). It keeps its base model loaded until it is closed.
type Trainer struct {
	mu    sync.Mutex
	h     *capi.Trainer
	model *Model
}

// NewTrainer creates a trainer on the backbone of base.
func NewTrainer(base *Model, opts *TrainOptions) (*Trainer, error) {
	o, f := capi.TrainOptionsDefault()
	if f != nil {
		return nil, wrap(f)
	}
	if opts != nil {
		if opts.Seed != 0 {
			o.Seed = opts.Seed
		}
		if opts.FPS != 0 {
			o.FPS = opts.FPS
		}
		setInt := func(dst *int32, v int) {
			if v != 0 {
				*dst = int32(v)
			}
		}
		setInt(&o.MaxFrames, opts.MaxFrames)
		setInt(&o.Views, opts.Views)
		setInt(&o.BatchPairs, opts.BatchPairs)
		setInt(&o.MaxNegative, opts.MaxNegatives)
		if opts.LearningRate != 0 {
			o.LearningRate = opts.LearningRate
		}
		if opts.WeightDecay != 0 {
			o.WeightDecay = opts.WeightDecay
		}
		setInt(&o.LRStepEpochs, opts.LRStepEpochs)
		o.CacheDir = opts.CacheDir
		o.Checkpoint = opts.Checkpoint
	}
	mh, err := base.acquire()
	if err != nil {
		return nil, err
	}
	h, f := capi.TrainerCreate(mh, o)
	if f != nil {
		base.release()
		return nil, wrap(f)
	}
	t := &Trainer{h: h, model: base}
	runtime.SetFinalizer(t, func(t *Trainer) { _ = t.Close() })
	return t, nil
}

// Close releases the trainer (and its base model, if that was closed meanwhile).
func (t *Trainer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h != nil {
		capi.TrainerFree(t.h)
		t.h = nil
		t.model.release()
		runtime.SetFinalizer(t, nil)
	}
	return nil
}

// AddVideo decodes path, makes its augmented views and caches their backbone features. group
// >= 0 labels a group of near-duplicates (positives of each other); -1 is self-supervised.
// On failure the trainer is unchanged.
func (t *Trainer) AddVideo(path string, group int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return closedError("trainer")
	}
	if group < -1 || group > 1<<31-1 {
		return &Error{Code: ErrInvalidArg, Message: "group must be -1 or in 0..2^31-1"}
	}
	return wrap(capi.TrainerAddVideo(t.h, path, int32(group)))
}

// VideoCount is the number of videos added so far (0 once closed).
func (t *Trainer) VideoCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return 0
	}
	return int(capi.TrainerVideoCount(t.h))
}

// Run trains for epochs epochs and returns each epoch's losses. onEpoch, if not nil, is called
// after every epoch; returning false stops training. Cancelling ctx stops it after the current
// epoch. A stopped run returns the epochs done so far and an error matching ErrCancelled (and
// ctx.Err() when the context stopped it); the head keeps what it learnt.
func (t *Trainer) Run(ctx context.Context, epochs int,
	onEpoch func(TrainLosses) bool) ([]TrainLosses, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return nil, closedError("trainer")
	}
	if epochs < 1 || epochs > 1<<31-1 {
		return nil, &Error{Code: ErrInvalidArg, Message: "epochs must be >= 1"}
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: ErrCancelled, Message: "not started: " + err.Error(), cause: err}
	}
	var history []TrainLosses
	f := capi.TrainerRun(t.h, int32(epochs), func(epoch int32, l capi.TrainLosses) bool {
		item := TrainLosses{int(epoch), l.Total, l.NCE, l.Exclusivity, l.MutualInfo, int(l.Steps)}
		history = append(history, item)
		if onEpoch != nil && !onEpoch(item) {
			return false
		}
		return ctx.Err() == nil
	})
	if f != nil {
		e := &Error{Code: Code(f.Code), Message: f.Message}
		if e.Code == ErrCancelled {
			e.cause = ctx.Err()
		}
		return history, e
	}
	return history, nil
}

// Save writes a complete model file (the base backbone and the trained head); load it with
// LoadModel.
func (t *Trainer) Save(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return closedError("trainer")
	}
	return wrap(capi.TrainerSave(t.h, path))
}

// LoadCheckpoint resumes from a checkpoint written by a trainer with the same base model,
// options and videos (added in the same order): Run then continues from the restored epoch.
func (t *Trainer) LoadCheckpoint(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return closedError("trainer")
	}
	return wrap(capi.TrainerLoadCheckpoint(t.h, path))
}

// EpochsDone is the number of epochs trained so far, restored ones included.
func (t *Trainer) EpochsDone() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return 0
	}
	return int(capi.TrainerEpochsDone(t.h))
}

// FinetuneOptions tunes Finetune. A nil *FinetuneOptions, or a zero field, keeps the library's
// default (the built-in model's recipe: 7 trainable units, 1200 steps of 32 frames, AdamW 1e-4).
type FinetuneOptions struct {
	Seed            uint64
	TrainableBlocks int
	Steps           int
	Batch           int
	LearningRate    float32
	Checkpoint      string // checkpoint file (resumed from when it exists); "" = none
	CheckpointEvery int
	// DMIHead also trains a DMI head with the backbone and writes it in the model (the model
	// is headless otherwise). Since 0.3.
	DMIHead bool
	// TemporalPositive is the probability that a video frame's second view comes from its
	// neighbouring sampled frame (0: never). Since 0.3.
	TemporalPositive float32
}

// Finetune fine-tunes the last blocks of base's backbone on frames of the given videos and
// images and writes a model to out (see vi_backbone_finetune): HEADLESS, or with the DMI head
// trained alongside when opts.DMIHead is set. It blocks until done.
func Finetune(base *Model, paths []string, opts *FinetuneOptions, out string) error {
	o, f := capi.FinetuneOptionsDefault()
	if f != nil {
		return wrap(f)
	}
	if opts != nil {
		if opts.Seed != 0 {
			o.Seed = opts.Seed
		}
		for _, p := range []struct {
			dst *int32
			v   int
		}{{&o.TrainableBlocks, opts.TrainableBlocks}, {&o.Steps, opts.Steps},
			{&o.Batch, opts.Batch}, {&o.CheckpointEvery, opts.CheckpointEvery}} {
			if p.v != 0 {
				*p.dst = int32(p.v)
			}
		}
		if opts.LearningRate != 0 {
			o.LearningRate = opts.LearningRate
		}
		o.Checkpoint = opts.Checkpoint
		o.DMIHead = opts.DMIHead
		o.TemporalPositive = opts.TemporalPositive
	}
	mh, err := base.acquire()
	if err != nil {
		return err
	}
	defer base.release()
	return wrap(capi.BackboneFinetune(mh, paths, o, out))
}
