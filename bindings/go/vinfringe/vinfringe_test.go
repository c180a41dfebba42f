package vinfringe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixtures come from test/data/make_fixtures.sh in $VI_FIXTURES (`make check-go` sets it).
var (
	shared     *Model
	sharedOnce sync.Once
	sharedErr  error
	embMu      sync.Mutex
	embCache   = map[string]*Embedding{}
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("VI_FIXTURES")
	if dir == "" {
		t.Skip("needs the test videos: VI_FIXTURES is not set (run `make check-go`, or set " +
			"VI_FIXTURES to the directory test/data/make_fixtures.sh writes)")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v (re-run test/data/make_fixtures.sh)", p, err)
	}
	return p
}

func model(t testing.TB) *Model {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = LoadDefaultModel() })
	if sharedErr != nil {
		t.Fatalf("LoadDefaultModel: %v", sharedErr)
	}
	return shared
}

// embedding of a fixture with default options, computed once per test binary.
func embedding(t testing.TB, name string) *Embedding {
	t.Helper()
	path := fixture(t, name)
	embMu.Lock()
	defer embMu.Unlock()
	if e, ok := embCache[name]; ok {
		return e
	}
	e, err := model(t).Embed(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Embed(%s): %v", name, err)
	}
	embCache[name] = e
	return e
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func codeOf(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *vinfringe.Error", err, err)
	}
	if e.Message == "" {
		t.Errorf("error %v has no message", err)
	}
	return e
}

func TestVersion(t *testing.T) {
	v := Version()
	want := fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
	if VersionString() != want {
		t.Errorf("VersionString %q, Version %d", VersionString(), v)
	}
	if v/10000 != apiMajor || v/100%100 < apiMinor {
		t.Errorf("binding written for %d.%d, library is %s", apiMajor, apiMinor, VersionString())
	}
	if ErrDecode.Error() == "" || ErrDecode.Error() == ErrIO.Error() {
		t.Errorf("status strings: %q %q", ErrDecode.Error(), ErrIO.Error())
	}
}

// FFmpeg's configure gives avcodec_license() one of these five values.
func TestFFmpegLicense(t *testing.T) {
	switch FFmpegLicense() {
	case "LGPL version 2.1 or later", "LGPL version 3 or later", "GPL version 2 or later",
		"GPL version 3 or later", "nonfree and unredistributable":
	default:
		t.Errorf("FFmpegLicense %q is none of FFmpeg's licence strings", FFmpegLicense())
	}
	if FFmpegVersion() == "" {
		t.Error("FFmpegVersion is empty")
	}
}

func TestModelMetadata(t *testing.T) {
	m := model(t)
	if m.Dim() <= 0 || m.FeatureDim() <= 0 || m.InputSize() <= 0 || m.ID() == "" {
		t.Fatalf("dim %d feature %d input %d id %q", m.Dim(), m.FeatureDim(), m.InputSize(), m.ID())
	}
	_ = m.Description()
}

func TestModelErrors(t *testing.T) {
	_, err := LoadModel(filepath.Join(os.TempDir(), "vinfringe-go-missing.vimodel"))
	e := codeOf(t, err)
	if e.Code != ErrIO || !errors.Is(err, ErrIO) || !strings.Contains(e.Message, "vinfringe-go-missing") {
		t.Errorf("missing model: %v", err)
	}
	_, err = LoadModelBytes(bytes.Repeat([]byte("not a model "), 20))
	if !errors.Is(err, ErrBadModel) {
		t.Errorf("garbage model bytes: %v", err)
	}
	m, err := LoadDefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m.Close() // twice is fine
	if _, err := m.Embed(context.Background(), fixture(t, "clip_a.mp4"), nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("embed with a closed model: %v", err)
	}
	if m.Dim() != 0 {
		t.Errorf("closed model Dim %d", m.Dim())
	}
}

func TestEmbedding(t *testing.T) {
	m := model(t)
	e := embedding(t, "clip_a.mp4")
	if e.Dim() != m.Dim() || e.FrameCount() < 1 || e.ModelID() != m.ID() || e.Duration() <= 0 {
		t.Fatalf("dim %d frames %d model %q duration %g", e.Dim(), e.FrameCount(), e.ModelID(),
			e.Duration())
	}
	ts := e.Timestamps()
	if len(ts) != e.FrameCount() {
		t.Fatalf("%d timestamps for %d frames", len(ts), e.FrameCount())
	}
	for i := 1; i < len(ts); i++ {
		if ts[i] < ts[i-1] {
			t.Errorf("timestamps decrease at %d: %v", i, ts)
		}
	}
	if n := norm(e.VideoVector()); math.Abs(n-1) > 1e-3 {
		t.Errorf("video vector norm %g", n)
	}
	all := e.FrameVectors()
	if len(all) != e.FrameCount()*e.Dim() {
		t.Fatalf("frame vectors %d floats", len(all))
	}
	for i := 0; i < e.FrameCount(); i++ {
		row := e.FrameVector(i)
		if n := norm(row); math.Abs(n-1) > 1e-3 {
			t.Errorf("frame %d norm %g", i, n)
		}
		if row[5] != all[i*e.Dim()+5] {
			t.Errorf("FrameVector(%d) differs from FrameVectors", i)
		}
	}
	if e.FrameVector(e.FrameCount()) != nil || e.FrameVector(-1) != nil {
		t.Error("out-of-range FrameVector is not nil")
	}
}

func TestEmbedOptions(t *testing.T) {
	one := embedding(t, "clip_a.mp4")
	fast, err := model(t).Embed(context.Background(), fixture(t, "clip_a.mp4"),
		&EmbedOptions{FPS: 4, MaxFrames: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if fast.FrameCount() != 5 {
		t.Fatalf("MaxFrames 5 gave %d frames", fast.FrameCount())
	}
	step1 := one.Timestamps()[1] - one.Timestamps()[0]
	step4 := fast.Timestamps()[1] - fast.Timestamps()[0]
	if step1 < 940000 || step1 > 1060000 || step4 < 190000 || step4 > 310000 {
		t.Errorf("frame spacing %d us at 1 fps, %d us at 4 fps", step1, step4)
	}
	_, err = model(t).Embed(context.Background(), fixture(t, "clip_a.mp4"), &EmbedOptions{FPS: -1})
	if e := codeOf(t, err); e.Code != ErrInvalidArg {
		t.Errorf("negative fps: %v", err)
	}
}

func TestBadFiles(t *testing.T) {
	cases := map[string][]Code{
		"no-such-clip.mp4": {ErrIO},
		"dir.mp4":          {ErrIO},
		"empty.mp4":        {ErrDecode, ErrNoVideo, ErrIO},
		"text.mp4":         {ErrDecode, ErrNoVideo},
		"garbage.mp4":      {ErrDecode, ErrNoVideo},
		"audio_only.m4a":   {ErrNoVideo},
	}
	dir := filepath.Dir(fixture(t, "clip_a.mp4"))
	for name, codes := range cases {
		_, err := model(t).Embed(context.Background(), filepath.Join(dir, name), nil)
		e := codeOf(t, err)
		ok := false
		for _, c := range codes {
			ok = ok || errors.Is(err, c)
		}
		if !ok || !strings.Contains(e.Message, name) {
			t.Errorf("%s: got %v, want one of %v naming the file", name, err, codes)
		}
	}
}

func TestProgressAndCancel(t *testing.T) {
	m := model(t)
	path := fixture(t, "clip_a.mp4")
	var calls []float64
	e, err := m.Embed(context.Background(), path, &EmbedOptions{
		Progress: func(done, total float64) bool { calls = append(calls, done); return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if len(calls) == 0 {
		t.Fatal("progress never called")
	}

	_, err = m.Embed(context.Background(), path, &EmbedOptions{
		Progress: func(done, total float64) bool { return false },
	})
	if !errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled) {
		t.Errorf("progress returning false: %v", err)
	}

	// A context cancelled while the embedding runs stops it at the next batch.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = m.Embed(ctx, path, &EmbedOptions{
		Progress: func(done, total float64) bool { cancel(); return true },
	})
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	// A context that is already over never starts.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	time.Sleep(time.Millisecond)
	_, err = m.Embed(ctx2, path, nil)
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
}

func TestPanicInProgressPropagates(t *testing.T) {
	path := fixture(t, "clip_a.mp4") // before the deferred recover: a skip must stay a skip
	defer func() {
		if r := recover(); r != "stop here" {
			t.Errorf("recovered %v", r)
		}
	}()
	_, _ = model(t).Embed(context.Background(), path, &EmbedOptions{
		Progress: func(done, total float64) bool { panic("stop here") },
	})
	t.Error("Embed returned instead of re-panicking")
}

func TestEmbedFrames(t *testing.T) {
	const w, h, n = 64, 48, 3
	rgb := make([]byte, n*w*h*3)
	for k := 0; k < n; k++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := ((k*h+y)*w + x) * 3
				rgb[p], rgb[p+1], rgb[p+2] = byte(x*4+k*40), byte(y*5), byte(x^y)
			}
		}
	}
	pts := []int64{0, 500000, 1000000}
	e, err := model(t).EmbedFrames(rgb, n, w, h, 0, pts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.FrameCount() != n || fmt.Sprint(e.Timestamps()) != fmt.Sprint(pts) {
		t.Errorf("frames %d timestamps %v", e.FrameCount(), e.Timestamps())
	}
	if _, err := model(t).EmbedFrames(rgb[:len(rgb)-1], n, w, h, 0, nil); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("short buffer: %v", err)
	}
}

func TestRoundTrips(t *testing.T) {
	e := embedding(t, "clip_b.mp4")
	data, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := EmbeddingFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	same := func(a, b *Embedding) {
		t.Helper()
		if a.Dim() != b.Dim() || a.FrameCount() != b.FrameCount() || a.ModelID() != b.ModelID() ||
			fmt.Sprint(a.Timestamps()) != fmt.Sprint(b.Timestamps()) ||
			fmt.Sprint(a.FrameVectors()) != fmt.Sprint(b.FrameVectors()) ||
			fmt.Sprint(a.VideoVector()) != fmt.Sprint(b.VideoVector()) {
			t.Error("round trip changed the embedding")
		}
	}
	same(e, back)
	path := filepath.Join(t.TempDir(), "b.vemb")
	if err := e.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadEmbedding(path)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	same(e, loaded)

	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 0x55
	if _, err := EmbeddingFromBytes(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("corrupt bytes: %v", err)
	}
	if _, err := EmbeddingFromBytes(nil); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrInvalidArg) {
		t.Errorf("empty bytes: %v", err)
	}
}

func TestCompare(t *testing.T) {
	a := embedding(t, "clip_a.mp4")
	b := embedding(t, "clip_b.mp4")
	cp := embedding(t, "clip_a_copy.mp4")
	same, err := Compare(cp, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Compare(b, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(same.Score > other.Score) || !(same.VideoSimilarity > other.VideoSimilarity) {
		t.Errorf("copy %+v vs unrelated %+v", same, other)
	}
	self, err := Compare(a, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(self.VideoSimilarity)-1) > 1e-4 || len(self.Segments) == 0 {
		t.Errorf("self comparison %+v", self)
	}
	for _, s := range self.Segments {
		if s.QueryStart > s.QueryEnd || s.RefStart > s.RefEnd || s.Score < 0.5 {
			t.Errorf("segment %+v", s)
		}
	}
	flat, err := Compare(a, a, &CompareOptions{VideoOnly: true})
	if err != nil || len(flat.Segments) != 0 || flat.VideoSimilarity != self.VideoSimilarity {
		t.Errorf("VideoOnly: %+v %v", flat, err)
	}
	// the verdict: at the model's threshold, and at one given by the caller
	for _, m := range []*Match{same, other, self} {
		if m.Copy != (m.Score >= m.Threshold) || !(m.Threshold > 0 && m.Threshold <= 1) {
			t.Errorf("verdict %+v", m)
		}
	}
	if same.Calibrated && (same.Threshold != model(t).Threshold() || !model(t).Calibrated()) {
		t.Errorf("calibrated match threshold %v, model %v", same.Threshold, model(t).Threshold())
	}
	strict, err := Compare(cp, a, &CompareOptions{Threshold: 1})
	if err != nil || strict.Threshold != 1 || strict.Score != same.Score ||
		strict.Copy != (same.Score >= 1) {
		t.Errorf("Threshold 1: %+v %v", strict, err)
	}
}

func TestIndex(t *testing.T) {
	a := embedding(t, "clip_a.mp4")
	b := embedding(t, "clip_b.mp4")
	cp := embedding(t, "clip_a_copy.mp4")
	ix, err := NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.Add("clip_a", a); err != nil {
		t.Fatal(err)
	}
	if err := ix.Add("clip_b", b); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 || fmt.Sprint(ix.IDs()) != "[clip_a clip_b]" {
		t.Fatalf("len %d ids %v", ix.Len(), ix.IDs())
	}
	if id, ok := ix.ID(1); !ok || id != "clip_b" {
		t.Errorf("ID(1) = %q %v", id, ok)
	}
	if _, ok := ix.ID(2); ok {
		t.Error("ID(2) in range")
	}
	hits, err := ix.Search(cp, 2)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := Compare(cp, a, nil)
	// the same comparison as Compare (segments); a calibrated score in a catalogue also weighs
	// the other references (docs/thresholds.md), so only an uncalibrated one equals Compare's
	if len(hits) != 2 || hits[0].ID != "clip_a" || hits[0].Score < hits[1].Score ||
		len(hits[0].Match.Segments) != len(direct.Segments) ||
		(!direct.Calibrated && math.Abs(float64(hits[0].Score-direct.Score)) > 1e-5) ||
		hits[0].Match.Score != hits[0].Score ||
		hits[0].Match.Copy != (hits[0].Score >= hits[0].Match.Threshold) {
		t.Errorf("hits %+v, direct %+v", hits, direct)
	}
	path := filepath.Join(t.TempDir(), "refs.vidx")
	if err := ix.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	again, err := back.Search(cp, 2)
	if err != nil || len(again) != 2 || again[0].ID != hits[0].ID || again[0].Score != hits[0].Score {
		t.Errorf("after reload: %+v %v", again, err)
	}
	if _, err := LoadIndex(filepath.Join(t.TempDir(), "missing.vidx")); !errors.Is(err, ErrIO) {
		t.Errorf("missing index: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	// One model and one index shared by goroutines; each result equals the serial one.
	m := model(t)
	path := fixture(t, "clip_b.mp4")
	opts := &EmbedOptions{MaxFrames: 3}
	ref, err := m.Embed(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want := fmt.Sprint(ref.FrameVectors())
	ix, _ := NewIndex()
	defer ix.Close()
	_ = ix.Add("a", embedding(t, "clip_a.mp4"))
	_ = ix.Add("b", ref)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := m.Embed(context.Background(), path, opts)
			if err != nil {
				errs <- err
				return
			}
			defer e.Close()
			if fmt.Sprint(e.FrameVectors()) != want {
				errs <- errors.New("concurrent embedding differs from the serial one")
			}
			hits, err := ix.Search(e, 1)
			if err != nil || len(hits) != 1 || hits[0].ID != "b" {
				errs <- fmt.Errorf("search: %+v %v", hits, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSetThreadsAndLogger(t *testing.T) {
	if err := SetThreads(0); err != nil {
		t.Error(err)
	}
	err := SetThreads(-1)
	if e := codeOf(t, err); e.Code != ErrInvalidArg || !strings.Contains(e.Message, "-1") {
		t.Errorf("SetThreads(-1): %v", err)
	}
	var mu sync.Mutex
	var lines []string
	SetLogger(func(level LogLevel, msg string) {
		mu.Lock()
		lines = append(lines, strconv.Itoa(int(level))+" "+msg)
		mu.Unlock()
	})
	defer SetLogger(nil)
	e, err := model(t).Embed(context.Background(), fixture(t, "damaged.mp4"), &EmbedOptions{MaxFrames: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, l := range lines {
		if l == "" || l[0] < '0' || l[0] > '3' {
			t.Errorf("log line %q", l)
		}
	}
}

func rssKiB(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) / 1024
}

// TestNoLeak creates and drops many objects, once closing everything and once forgetting half
// of the handles (the finalizers must free them), and checks that the resident size stays flat.
func TestNoLeak(t *testing.T) {
	// One OS thread for the whole loop: every new thread that runs libtorch or malloc gets its
	// own caches and arena (bounded, but noise for this measurement).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := embedding(t, "clip_a.mp4")
	data, err := embedding(t, "clip_a_copy.mp4").MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cycle := func(rounds int, forget bool) {
		for i := 0; i < rounds; i++ {
			e, err := EmbeddingFromBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Compare(e, a, nil); err != nil {
				t.Fatal(err)
			}
			ix, _ := NewIndex()
			_ = ix.Add("e", e)
			_ = ix.Add("a", a)
			if _, err := ix.Search(e, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := e.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
			if !forget || i%2 == 0 {
				ix.Close()
				e.Close()
			}
			if i%150 == 0 {
				f, err := model(t).Embed(context.Background(), fixture(t, "clip_b.mp4"),
					&EmbedOptions{MaxFrames: 1})
				if err != nil {
					t.Fatal(err)
				}
				if !forget {
					f.Close()
				}
			}
			// The Go collector does not see C memory, so a program that leaves handles to the
			// finalizers needs a collection now and then; this stands for the ones a real
			// program's own allocations trigger.
			if forget && i%100 == 99 {
				runtime.GC()
			}
		}
		for k := 0; k < 3; k++ { // finalizers run after a GC, on their own goroutine
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
	}
	rounds := 1500
	if n, err := strconv.Atoi(os.Getenv("VI_LEAK_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for _, forget := range []bool{false, true} {
		cycle(300, forget) // warm up: allocator pools, libtorch caches
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before, goBefore := rssKiB(t), ms.HeapInuse/1024
		cycle(rounds, forget)
		runtime.ReadMemStats(&ms)
		after, goAfter := rssKiB(t), ms.HeapInuse/1024
		t.Logf("forget=%v: RSS before %d KiB, after %d KiB, grew %d KiB over %d rounds "+
			"(Go heap in use %d -> %d KiB)", forget, before, after, after-before, rounds,
			goBefore, goAfter)
		if after-before > 8*1024 {
			t.Errorf("forget=%v: RSS grew by %d KiB", forget, after-before)
		}
	}
}

func TestOnDiskIndex(t *testing.T) {
	a := embedding(t, "clip_a.mp4")
	b := embedding(t, "clip_b.mp4")
	cp := embedding(t, "clip_a_copy.mp4")
	path := filepath.Join(t.TempDir(), "cat.vidx")
	ix, err := OpenIndex(path, &IndexOptions{Kind: IndexHNSW})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add("clip_a", a); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(); err != nil {
		t.Fatal(err)
	}
	if ix.KindUsed() != IndexHNSW || ix.FrameCount() != int64(a.FrameCount()) {
		t.Errorf("kind %d frames %d", ix.KindUsed(), ix.FrameCount())
	}
	ix.Close()
	// reopen and append without rebuilding
	ix, err = OpenIndex(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add("clip_b", b); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ro, err := OpenIndex(path, &IndexOptions{ReadOnly: true, Candidates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if fmt.Sprint(ro.IDs()) != "[clip_a clip_b]" || ro.KindUsed() != IndexHNSW {
		t.Fatalf("ids %v kind %d", ro.IDs(), ro.KindUsed())
	}
	// one candidate re-ranked, yet the search returns what was asked, up to what the index
	// holds: both references, the copy's source first
	hits, err := ro.Search(cp, 5)
	if err != nil || len(hits) != 2 || hits[0].ID != "clip_a" || hits[1].ID != "clip_b" {
		t.Errorf("hits %+v %v", hits, err)
	}
	if err := ro.Add("x", a); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("add to a read-only index: %v", err)
	}
	mem, err := NewIndexWith(&IndexOptions{Kind: 7})
	if err == nil || !errors.Is(err, ErrInvalidArg) {
		t.Errorf("bad kind accepted: %v", err)
		mem.Close()
	}
}

func TestThumbnail(t *testing.T) {
	path := fixture(t, "clip_a.mp4")
	img, at, err := Thumbnail(path, 3.0, &ThumbnailOptions{MaxSide: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(img) < 100 || img[0] != 0xFF || img[1] != 0xD8 || at < 2.9 || at > 3.1 {
		t.Errorf("JPEG of %d bytes starting %x, frame at %.3f s", len(img), img[:2], at)
	}
	png, _, err := Thumbnail(path, 0, &ThumbnailOptions{Format: ImagePNG})
	if err != nil || string(png[1:4]) != "PNG" {
		t.Errorf("PNG: %v", err)
	}
	if _, _, err := Thumbnail(filepath.Join(filepath.Dir(path), "text.mp4"), 0, nil); !errors.Is(err, ErrDecode) {
		t.Errorf("not a video: %v", err)
	}
	if _, _, err := Thumbnail(path, 0, &ThumbnailOptions{MaxSide: 5}); !errors.Is(err, ErrInvalidArg) {
		t.Errorf("max side 5: %v", err)
	}
}
