package vinfringe

import (
	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// Segment is a copied span: [QueryStart, QueryEnd] of the query matches [RefStart, RefEnd] of
// the reference, in seconds on each video's own timeline.
type Segment struct {
	QueryStart, QueryEnd float64
	RefStart, RefEnd     float64
	Score                float32 // mean frame similarity along the span, in [-1, 1]
}

// Match is the result of comparing a query with a reference.
type Match struct {
	Score           float32   // copy score in [0, 1]
	VideoSimilarity float32   // cosine of the two video-level vectors, in [-1, 1]
	Segments        []Segment // copied spans (empty with VideoOnly or when nothing matched)
	Copy            bool      // the verdict: Score >= Threshold (docs/thresholds.md)
	Threshold       float32   // the threshold of the verdict: the model's, or CompareOptions'
	Calibrated      bool      // scored by the model's calibration (else the fixed 0.3 score)
}

// CompareOptions tunes Compare; nil means defaults.
type CompareOptions struct {
	VideoOnly bool    // skip segment localisation: video-level score only
	Threshold float32 // threshold of the Copy verdict in (0, 1]; 0: the model's recommended one
}

// Compare compares a query embedding with a reference embedding made by the same model
// (ErrFormat otherwise).
func Compare(query, ref *Embedding, opts *CompareOptions) (*Match, error) {
	localize := opts == nil || !opts.VideoOnly
	threshold := float32(0)
	if opts != nil {
		threshold = opts.Threshold
	}
	qh, err := query.lock()
	if err != nil {
		return nil, err
	}
	defer query.mu.RUnlock()
	var rh *capi.Embedding
	if ref == query {
		rh = qh // already read-locked; an RWMutex must not be read-locked twice by one caller
	} else {
		if rh, err = ref.lock(); err != nil {
			return nil, err
		}
		defer ref.mu.RUnlock()
	}
	h, f := capi.Compare(qh, rh, localize, threshold)
	if f != nil {
		return nil, wrap(f)
	}
	defer capi.MatchFree(h)
	return readMatch(h)
}

// readMatch copies a C match into Go values.
func readMatch(h *capi.Match) (*Match, error) {
	m := &Match{Score: capi.MatchScore(h), VideoSimilarity: capi.MatchVideoSimilarity(h),
		Copy: capi.MatchIsCopy(h), Threshold: capi.MatchThreshold(h),
		Calibrated: capi.MatchIsCalibrated(h)}
	n := capi.MatchSegmentCount(h)
	m.Segments = make([]Segment, 0, n)
	for i := int32(0); i < n; i++ {
		s, f := capi.MatchSegment(h, i)
		if f != nil {
			return nil, wrap(f)
		}
		m.Segments = append(m.Segments, Segment(s))
	}
	return m, nil
}
