// Package vinfringe is the Go binding of libvinfringe, an embeddable library that fingerprints
// videos and tells whether one video is a copy of another (DMI embeddings, frozen CNN backbone).
//
//	m, err := vinfringe.LoadDefaultModel()
//	if err != nil { ... }
//	defer m.Close()
//	a, err := m.Embed(ctx, "original.mp4", nil)
//	b, err := m.Embed(ctx, "upload.mp4", nil)
//	r, err := vinfringe.Compare(b, a, nil)
//	fmt.Printf("copy score %.3f, %d copied segments\n", r.Score, len(r.Segments))
//
// Objects that own a C handle (Model, Embedding, Index) have a Close method; a finalizer frees
// them as a safety net when a program forgets. Results (Match, Segment, Hit) are plain Go values.
// Every error is an *Error carrying the library's status Code and message; errors.Is(err,
// vinfringe.ErrDecode) tests the code. A Model and an Index may be used from many goroutines.
//
// Building needs the library's pkg-config file (`#cgo pkg-config: vinfringe`): install the
// library, or point PKG_CONFIG_PATH at a directory holding vinfringe.pc.
//
// Licence: MIT, as the library (LICENSE). A program built with this package also loads the
// library's FFmpeg, whose licence FFmpegLicense reports ("GPL version 2 or later" for Debian's);
// docs/licensing.md in the source tree says what that means for distributing the program.
package vinfringe

import (
	"fmt"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// Code is a libvinfringe status code (vi_status). A Code is itself an error, so that
// errors.Is(err, vinfringe.ErrCancelled) matches any *Error with that code.
type Code int32

// Status codes; the numbers are part of the C ABI.
const (
	OK             Code = 0
	ErrInvalidArg  Code = 1  // NULL where an object is required, out-of-range option, ...
	ErrIO          Code = 2  // file missing, unreadable, unwritable, or a directory
	ErrNoVideo     Code = 3  // no decodable video stream or no frames
	ErrDecode      Code = 4  // FFmpeg could not demux or decode the file
	ErrUnsupported Code = 5  // valid input this build cannot handle
	ErrBadModel    Code = 6  // not a model file, corrupt, or missing tensors
	ErrFormat      Code = 7  // corrupt/newer embedding or index file, or mixed models
	ErrNoMem       Code = 8  // allocation failed
	ErrInternal    Code = 9  // a bug or a libtorch failure
	ErrCancelled   Code = 10 // a progress callback or a context asked to stop
)

var codeNames = map[Code]string{
	OK: "OK", ErrInvalidArg: "INVALID_ARG", ErrIO: "IO", ErrNoVideo: "NO_VIDEO",
	ErrDecode: "DECODE", ErrUnsupported: "UNSUPPORTED", ErrBadModel: "BAD_MODEL",
	ErrFormat: "FORMAT", ErrNoMem: "NOMEM", ErrInternal: "INTERNAL", ErrCancelled: "CANCELLED",
}

// String is the code's short name, e.g. "DECODE".
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Code(%d)", int32(c))
}

// Error is the library's English description of the code (vi_status_str).
func (c Code) Error() string { return capi.StatusString(int32(c)) }

// Error is a failed libvinfringe call.
type Error struct {
	Code    Code   // the vi_status the C function returned
	Message string // vi_last_error(): what failed, the file, FFmpeg's or libtorch's reason
	cause   error  // e.g. context.Canceled when a context stopped an embedding
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Error()
	}
	return fmt.Sprintf("vinfringe: %s [%s]", msg, e.Code.String())
}

// Is reports whether target is this error's Code, so errors.Is(err, ErrIO) works.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// Unwrap returns the underlying cause (context.Canceled or context.DeadlineExceeded when a
// context cancelled an embedding), or nil.
func (e *Error) Unwrap() error { return e.cause }

func wrap(f *capi.Failure) error {
	if f == nil {
		return nil
	}
	return &Error{Code: Code(f.Code), Message: f.Message}
}

func closedError(kind string) error {
	return &Error{Code: ErrInvalidArg, Message: "this " + kind + " is closed"}
}

// The C API version this package was written for. The library only appends to its ABI within a
// major version (new functions, new fields at the end of options structs), so a library of the
// same major and at least this minor is accepted; an older or another major one is refused
// rather than misused.
const (
	apiMajor = 0
	apiMinor = 3
)

var versionErr = func() error {
	v := capi.Version()
	if v/10000 != apiMajor || v/100%100 < apiMinor {
		return &Error{Code: ErrUnsupported, Message: fmt.Sprintf(
			"libvinfringe %s is loaded, this binding needs %d.%d or later", capi.VersionString(),
			apiMajor, apiMinor)}
	}
	return nil
}()

// Version is the runtime version of the loaded library, MAJOR*10000 + MINOR*100 + PATCH.
func Version() int { return int(capi.Version()) }

// VersionString is the runtime version of the loaded library, e.g. "0.1.0".
func VersionString() string { return capi.VersionString() }

// FFmpegLicense is the licence of the FFmpeg build the library runs with, as FFmpeg reports it
// (avcodec_license()), e.g. "LGPL version 2.1 or later" or "GPL version 2 or later". A program
// using this package loads that FFmpeg too: see docs/licensing.md.
func FFmpegLicense() string { return capi.FFmpegLicense() }

// FFmpegVersion is the version of the FFmpeg build the library runs with (av_version_info()).
func FFmpegVersion() string { return capi.FFmpegVersion() }

// SetThreads sets how many threads libtorch uses for one forward pass (0: libtorch's default).
// Process-wide; call before other goroutines use the library.
func SetThreads(n int) error { return wrap(capi.SetThreads(int32(n))) }

// LogLevel is the severity of a library log line.
type LogLevel int32

// Log levels (vi_log_level).
const (
	LogError LogLevel = 0
	LogWarn  LogLevel = 1
	LogInfo  LogLevel = 2
	LogDebug LogLevel = 3
)

// SetLogger routes the library's diagnostics (skipped damaged frames, fallbacks) to fn; nil
// silences them (the default). fn may be called from any thread running library code; a panic
// in it is swallowed. Call before other goroutines use the library.
func SetLogger(fn func(level LogLevel, msg string)) {
	if fn == nil {
		capi.LogSet(nil)
		return
	}
	capi.LogSet(func(level int32, msg string) { fn(LogLevel(level), msg) })
}
