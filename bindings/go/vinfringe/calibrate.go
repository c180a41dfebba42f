package vinfringe

import (
	"runtime"
	"sync"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// CalibrateOptions tunes a Calibrator; zero fields (or nil) mean the library's defaults.
type CalibrateOptions struct {
	BankSize        int     // background vectors kept at most (20000)
	BankK           int     // nearest background vectors averaged into a frame's background (3)
	TargetPrecision float32 // precision the recommended threshold reaches on the data (0.95)
	VerdictOnly     bool    // keep a calibrated base's bank and segment weights, refit the verdict
}

// CalibrationReport says what a fit measured on the comparisons it was given.
type CalibrationReport = capi.CalibrationReport

// Calibrator fits a model's copy verdict (docs/thresholds.md) from background footage and
// labelled comparisons, and writes the calibrated model. One goroutine at a time (it locks).
type Calibrator struct {
	mu    sync.Mutex
	h     *capi.Calibrator
	model *Model
}

// NewCalibrator starts a calibration of base; the model stays loaded until Close.
func NewCalibrator(base *Model, opts *CalibrateOptions) (*Calibrator, error) {
	var o CalibrateOptions
	if opts != nil {
		o = *opts
	}
	mh, err := base.acquire()
	if err != nil {
		return nil, err
	}
	h, f := capi.CalibratorCreate(mh, int32(o.BankSize), int32(o.BankK), o.TargetPrecision,
		o.VerdictOnly)
	if f != nil {
		base.release()
		return nil, wrap(f)
	}
	c := &Calibrator{h: h, model: base}
	runtime.SetFinalizer(c, func(c *Calibrator) { _ = c.Close() })
	return c, nil
}

// Close releases the calibrator. Safe to call more than once.
func (c *Calibrator) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h != nil {
		capi.CalibratorFree(c.h)
		c.h = nil
		c.model.release()
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

func (c *Calibrator) with(e *Embedding, call func(*capi.Calibrator, *capi.Embedding) *capi.Failure) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError("calibrator")
	}
	eh, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.RUnlock()
	return wrap(call(c.h, eh))
}

// AddBackground adds footage that copies nothing (blank, generic, unrelated) to the bank.
func (c *Calibrator) AddBackground(e *Embedding) error {
	return c.with(e, capi.CalibratorAddBackground)
}

// AddReference adds a reference of the labelled comparisons under a unique id.
func (c *Calibrator) AddReference(id string, e *Embedding) error {
	return c.with(e, func(h *capi.Calibrator, eh *capi.Embedding) *capi.Failure {
		return capi.CalibratorAddReference(h, id, eh)
	})
}

// AddQuery adds a query that copies the reference `copies`, or none when copies is "".
func (c *Calibrator) AddQuery(e *Embedding, copies string) error {
	return c.with(e, func(h *capi.Calibrator, eh *capi.Embedding) *capi.Failure {
		return capi.CalibratorAddQuery(h, eh, copies)
	})
}

// Fit fits the calibration on everything added so far.
func (c *Calibrator) Fit() (CalibrationReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return CalibrationReport{}, closedError("calibrator")
	}
	r, f := capi.CalibratorFit(c.h)
	return r, wrap(f)
}

// Save writes the base model with the fitted calibration to path.
func (c *Calibrator) Save(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return closedError("calibrator")
	}
	return wrap(capi.CalibratorSave(c.h, path))
}

// Calibrate returns a copy of e with the frame backgrounds and calibration of m (an embedding
// made by m's uncalibrated twin, or by another calibration of the same model).
func (m *Model) Calibrate(e *Embedding) (*Embedding, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, closedError("model")
	}
	eh, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.RUnlock()
	h, f := capi.EmbeddingCalibrate(m.h, eh)
	if f != nil {
		return nil, wrap(f)
	}
	return newEmbedding(h), nil
}

// Calibrated reports whether e carries a calibration (its model was calibrated).
func (e *Embedding) Calibrated() bool {
	h, err := e.lock()
	if err != nil {
		return false
	}
	defer e.mu.RUnlock()
	return capi.EmbeddingIsCalibrated(h)
}
