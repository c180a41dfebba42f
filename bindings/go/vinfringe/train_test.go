package vinfringe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Small enough to run in seconds: few frames, two views, a few pairs per step.
var small = &TrainOptions{Seed: 7, MaxFrames: 6, Views: 2, BatchPairs: 8, MaxNegatives: 64}

func TestTrainSaveLoadEmbed(t *testing.T) {
	base := model(t)
	tr, err := NewTrainer(base, small)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, name := range []string{"clip_a.mp4", "clip_b.mp4"} {
		if err := tr.AddVideo(fixture(t, name), -1); err != nil {
			t.Fatal(err)
		}
	}
	if tr.VideoCount() != 2 {
		t.Fatalf("VideoCount %d", tr.VideoCount())
	}
	var seen []TrainLosses
	history, err := tr.Run(context.Background(), 2, func(l TrainLosses) bool {
		seen = append(seen, l)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 || len(seen) != 2 || history[0].Epoch != 1 || history[1].Epoch != 2 {
		t.Fatalf("history %+v seen %+v", history, seen)
	}
	for _, h := range history {
		if math.IsNaN(h.Total) || math.IsInf(h.Total, 0) || h.Steps < 1 {
			t.Errorf("losses %+v", h)
		}
	}
	path := filepath.Join(t.TempDir(), "trained.vimodel")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	trained, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer trained.Close()
	if trained.Dim() != base.Dim() || trained.FeatureDim() != base.FeatureDim() {
		t.Errorf("trained dims %d/%d", trained.Dim(), trained.FeatureDim())
	}
	e, err := trained.Embed(context.Background(), fixture(t, "clip_a.mp4"), &EmbedOptions{MaxFrames: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.ModelID() != trained.ID() {
		t.Errorf("embedding model %q, trained model %q", e.ModelID(), trained.ID())
	}
}

func TestTrainErrorsAndCancel(t *testing.T) {
	base := model(t)
	if _, err := NewTrainer(base, &TrainOptions{Views: 99}); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("views 99: %v", err)
	}
	tr, err := NewTrainer(base, small)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Run(context.Background(), 1, nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("run without videos: %v", err)
	}
	err = tr.AddVideo(filepath.Join(filepath.Dir(fixture(t, "clip_a.mp4")), "text.mp4"), -1)
	if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrNoVideo) {
		t.Errorf("text.mp4: %v", err)
	}
	if tr.VideoCount() != 0 {
		t.Errorf("failed add changed the trainer: %d videos", tr.VideoCount())
	}
	_ = tr.AddVideo(fixture(t, "clip_a.mp4"), 0)
	_ = tr.AddVideo(fixture(t, "clip_a_copy.mp4"), 0)
	_ = tr.AddVideo(fixture(t, "clip_b.mp4"), 1)
	h, err := tr.Run(context.Background(), 5, func(TrainLosses) bool { return false })
	if !errors.Is(err, ErrCancelled) || len(h) != 1 {
		t.Errorf("stop after epoch 1: %d epochs, %v", len(h), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err = tr.Run(ctx, 5, func(TrainLosses) bool { cancel(); return true })
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) || len(h) != 1 {
		t.Errorf("context cancel: %d epochs, %v", len(h), err)
	}
}

func TestModelClosedBeforeTrainer(t *testing.T) {
	m, err := LoadDefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, small)
	if err != nil {
		t.Fatal(err)
	}
	m.Close() // deferred while the trainer needs the backbone
	if _, err := m.Embed(context.Background(), fixture(t, "clip_a.mp4"), nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("closed model still embeds: %v", err)
	}
	if _, err := NewTrainer(m, small); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("new trainer on a closed model: %v", err)
	}
	if err := tr.AddVideo(fixture(t, "clip_a.mp4"), -1); err != nil {
		t.Fatalf("trainer lost its model: %v", err)
	}
	tr.Close()
	if m.h != nil {
		t.Error("model not released with its last trainer")
	}
}

func TestTrainCheckpointResume(t *testing.T) {
	base := model(t)
	dir := t.TempDir()
	run := func(ckpt string, epochs int, resume bool) (*Trainer, string) {
		o := *small
		o.Checkpoint = ckpt
		tr, err := NewTrainer(base, &o)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"clip_a.mp4", "clip_b.mp4"} {
			if err := tr.AddVideo(fixture(t, name), -1); err != nil {
				t.Fatal(err)
			}
		}
		if resume {
			if err := tr.LoadCheckpoint(ckpt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tr.Run(context.Background(), epochs, nil); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("m%d-%v.vimodel", epochs, resume))
		if err := tr.Save(out); err != nil {
			t.Fatal(err)
		}
		return tr, out
	}
	ckpt := filepath.Join(dir, "run.ckpt")
	first, _ := run(ckpt, 1, false)
	if first.EpochsDone() != 1 {
		t.Errorf("EpochsDone %d after one epoch", first.EpochsDone())
	}
	first.Close()
	resumed, resumedPath := run(ckpt, 1, true)
	if resumed.EpochsDone() != 2 {
		t.Errorf("EpochsDone %d after resuming for one more epoch", resumed.EpochsDone())
	}
	resumed.Close()
	straight, straightPath := run(filepath.Join(dir, "other.ckpt"), 2, false)
	straight.Close()
	a, _ := os.ReadFile(resumedPath)
	b, _ := os.ReadFile(straightPath)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("resumed model differs from an uninterrupted run (%d vs %d bytes)", len(a), len(b))
	}
	bad := filepath.Join(dir, "bad.ckpt")
	if err := os.WriteFile(bad, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(base, small)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.LoadCheckpoint(bad); err == nil {
		t.Error("a corrupt checkpoint was accepted")
	}
}

func TestFinetuneWritesHeadlessModel(t *testing.T) {
	base := model(t)
	out := filepath.Join(t.TempDir(), "ft.vimodel")
	paths := []string{fixture(t, "clip_a.mp4"), fixture(t, "clip_b.mp4")}
	err := Finetune(base, paths, &FinetuneOptions{TrainableBlocks: 1, Steps: 2, Batch: 2}, out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Dim() != base.FeatureDim() {
		t.Errorf("headless model: dim %d, backbone feature dim %d", m.Dim(), base.FeatureDim())
	}
	if err := Finetune(base, nil, nil, out); err == nil {
		t.Error("fine-tuning on no inputs succeeded")
	}
}

func TestFinetuneWithDMIHeadWritesTheHead(t *testing.T) {
	base := model(t)
	out := filepath.Join(t.TempDir(), "ft-dmi.vimodel")
	paths := []string{fixture(t, "clip_a.mp4"), fixture(t, "clip_b.mp4")}
	opts := &FinetuneOptions{TrainableBlocks: 1, Steps: 2, Batch: 2, DMIHead: true,
		TemporalPositive: 0.5}
	if err := Finetune(base, paths, opts, out); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Dim() != 256 {
		t.Errorf("model with a DMI head: dim %d, want the head's 256", m.Dim())
	}
	opts.TemporalPositive = 2
	if err := Finetune(base, paths, opts, out); err == nil {
		t.Error("temporal positive probability 2 was accepted")
	}
}
