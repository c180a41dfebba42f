/*
 * vinfringe.h - the public C API of libvinfringe: video copy detection.
 *
 * libvinfringe fingerprints videos and tells whether one video is a copy of another, even after
 * cropping, re-encoding, flipping, speed changes, borders, logos or picture-in-picture. It
 * implements DMI (Liu et al., ACM MM 2023): a frozen CNN backbone turns each sampled frame into a
 * feature, and a linear head (six disentangled sub-feature heads, an auxiliary head and a fusion
 * layer, folded into one affine map at inference) turns features into L2-normalised embeddings.
 *
 * Fifteen lines of usage:
 *
 *     vi_model *m = NULL;
 *     vi_embedding *a = NULL, *b = NULL;
 *     vi_match *r = NULL;
 *     if (vi_model_load(NULL, &m) != VI_OK                  // NULL: the built-in default model
 *         || vi_embed_video(m, "original.mp4", NULL, &a) != VI_OK
 *         || vi_embed_video(m, "upload.mp4", NULL, &b) != VI_OK
 *         || vi_compare(a, b, NULL, &r) != VI_OK) {
 *         fprintf(stderr, "error: %s\n", vi_last_error());
 *     } else {
 *         printf("copy score %.3f\n", vi_match_score(r));
 *     }
 *     vi_match_free(r);
 *     vi_embedding_free(a);
 *     vi_embedding_free(b);
 *     vi_model_free(m);
 *
 * Conventions that hold for every function below:
 * - Fallible functions return a vi_status. On failure a readable message (naming the file and,
 *   where there is one, FFmpeg's or libtorch's own reason) is kept per thread and read with
 *   vi_last_error(). Out-parameters are set to NULL (or 0) on failure.
 * - Objects returned through an out-parameter belong to the caller and are released with the
 *   matching vi_*_free function, never with free(). Every vi_*_free accepts NULL.
 * - Pointers returned by accessors are borrowed: they live as long as the object they came from.
 * - Strings are UTF-8 and NUL-terminated; input buffers are borrowed for the call only.
 * - Options structs are passed by pointer, NULL meaning "all defaults". Initialise them with their
 *   vi_*_options_init function, which records the struct's size so that the struct can grow in
 *   later versions without breaking programs built against this one.
 * - Thread safety is stated on each function. In short: a vi_model is immutable once loaded and
 *   may be shared by any number of threads; embeddings, matches and hit lists are immutable and
 *   may be read from several threads; a vi_index may be searched concurrently but add, save and
 *   free need exclusive access.
 * - The library never prints, never exits and never lets a C++ exception out.
 */
#ifndef VINFRINGE_H
#define VINFRINGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(VI_BUILDING_DLL)
#define VI_API __declspec(dllexport)
#elif defined(_WIN32) && defined(VI_USING_DLL)
#define VI_API __declspec(dllimport)
#elif defined(__GNUC__)
#define VI_API __attribute__((visibility("default")))
#else
#define VI_API
#endif

/* ------------------------------------------------------------------------------------------ */
/* Version                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define VI_VERSION_MAJOR 0
#define VI_VERSION_MINOR 4
#define VI_VERSION_PATCH 0
/** Version as one number, MAJOR * 10000 + MINOR * 100 + PATCH. */
#define VI_VERSION_NUMBER (VI_VERSION_MAJOR * 10000 + VI_VERSION_MINOR * 100 + VI_VERSION_PATCH)

/** Runtime version number of the loaded library; compare with VI_VERSION_NUMBER.
 *  Thread safety: any thread. @since 0.1 */
VI_API uint32_t vi_version(void);

/** Runtime version as a static string such as "0.1.0". Thread safety: any thread. @since 0.1 */
VI_API const char *vi_version_string(void);

/** The licence of the FFmpeg build the library runs with, as FFmpeg itself reports it
 *  (avcodec_license()): "LGPL version 2.1 or later" for a default FFmpeg, "GPL version 2 or
 *  later" for one configured with --enable-gpl (Debian's, for one). A program that loads the
 *  library loads that FFmpeg too; docs/licensing.md says what that means for distributing it.
 *  @return a static string, never NULL. Thread safety: any thread. @since 0.4 */
VI_API const char *vi_ffmpeg_license(void);

/** The version of the FFmpeg build the library runs with, as FFmpeg reports it
 *  (av_version_info(), e.g. "5.1.6-0+deb12u1").
 *  @return a static string, never NULL. Thread safety: any thread. @since 0.4 */
VI_API const char *vi_ffmpeg_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Status codes and errors                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Status codes. The numbers are part of the ABI and are never reused. */
typedef enum vi_status {
    VI_OK = 0,
    VI_E_INVALID_ARG = 1,  /**< NULL where an object is required, out-of-range option, ... */
    VI_E_IO = 2,           /**< file missing, unreadable, unwritable, or a directory */
    VI_E_NO_VIDEO = 3,     /**< the file has no decodable video stream or no frames */
    VI_E_DECODE = 4,       /**< FFmpeg could not demux or decode the file (damaged, not media) */
    VI_E_UNSUPPORTED = 5,  /**< valid input that this build cannot handle (codec, frame size) */
    VI_E_BAD_MODEL = 6,    /**< not a model file, corrupt, or missing tensors */
    VI_E_FORMAT = 7,       /**< an embedding or index file is corrupt, truncated or of a newer
                                version; or two objects come from different models */
    VI_E_NOMEM = 8,        /**< allocation failed */
    VI_E_INTERNAL = 9,     /**< a bug or a libtorch failure; the message says which */
    VI_E_CANCELLED = 10    /**< a progress callback asked to stop */
} vi_status;

/** A static English description of a status code; never NULL. Thread safety: any thread. */
VI_API const char *vi_status_str(vi_status status);

/**
 * The message of the last failure on the calling thread: what went wrong, with the file name and
 * the underlying library's own reason. Empty string if nothing failed yet. The pointer is valid
 * until the next vi_ call on the same thread. Thread safety: per thread. @since 0.1
 */
VI_API const char *vi_last_error(void);

/** Log levels for vi_log_set. */
typedef enum vi_log_level { VI_LOG_ERROR = 0, VI_LOG_WARN = 1, VI_LOG_INFO = 2, VI_LOG_DEBUG = 3 } vi_log_level;

/** Log callback: `level` is a vi_log_level, `msg` a NUL-terminated line borrowed for the call. */
typedef void (*vi_log_fn)(void *user, int32_t level, const char *msg);

/**
 * Route the library's diagnostics (skipped damaged frames, fallbacks) to `fn`; NULL (the default)
 * keeps the library silent. FFmpeg's own warnings and errors are routed to it too, prefixed
 * "ffmpeg: ": from the first vi_log_set or decode on, the library installs its handler as FFmpeg's
 * av_log callback (a process-wide FFmpeg setting). A host that uses FFmpeg itself and wants
 * FFmpeg's default printing back calls av_log_set_callback(av_log_default_callback) afterwards.
 * Thread safety: call before other threads use the library. @since 0.1
 */
VI_API void vi_log_set(vi_log_fn fn, void *user);

/**
 * Set how many threads libtorch uses for one forward pass (process-wide; 0 leaves libtorch's
 * default). Thread safety: call before other threads use the library. @since 0.1
 */
VI_API vi_status vi_set_threads(int32_t n_threads);

/* ------------------------------------------------------------------------------------------ */
/* Model                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** A loaded model: backbone weights plus the embedding head. Immutable after loading. */
typedef struct vi_model vi_model;

/**
 * Load a model file (.vimodel). `path` NULL loads the default model compiled into the library.
 * @param path  UTF-8 path, or NULL for the built-in model
 * @param out   receives the model; free with vi_model_free(). Set to NULL on failure.
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_BAD_MODEL, VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: any thread. @since 0.1
 */
VI_API vi_status vi_model_load(const char *path, vi_model **out);

/** As vi_model_load, from `size` bytes at `data` (copied; the buffer may be freed afterwards). */
VI_API vi_status vi_model_load_memory(const void *data, size_t size, vi_model **out);

/** Release a model. NULL is a no-op. Embeddings made with it stay valid.
 *  Thread safety: no other thread may be using the model. */
VI_API void vi_model_free(vi_model *model);

/** Dimension of the embeddings the model produces (256 for DMI heads). Thread safety: any. */
VI_API int32_t vi_model_dim(const vi_model *model);

/** Dimension of the backbone's frame features that feed the head. Thread safety: any. */
VI_API int32_t vi_model_feature_dim(const vi_model *model);

/** Side of the square RGB image the backbone takes (128 for the default model, which measured
 *  more robust than 224 to blur and downscaling; see docs/model.md). Thread safety: any. */
VI_API int32_t vi_model_input_size(const vi_model *model);

/** Model identifier (name and weight checksum), e.g. "mnv2-gem-pcaw256:1a2b3c4d". Embeddings
 *  and indexes remember it, so that vectors of different models are never compared. Borrowed,
 *  lives as long as the model. Thread safety: any. */
VI_API const char *vi_model_id(const vi_model *model);

/** Human-readable description stored in the model file (how it was made). Borrowed. */
VI_API const char *vi_model_description(const vi_model *model);

/** 1 when the model carries a calibration (a background bank and the constants that turn a
 *  comparison's evidence into a copy probability, fitted by vi_calibrator); 0 when it does not:
 *  its scores then use the library's fixed constants, its verdicts the threshold 0.5, and
 *  loading it logs a warning. Models written by vi_trainer_save and vi_backbone_finetune are
 *  uncalibrated (a new embedding needs its own calibration). Thread safety: any. @since 0.4 */
VI_API int32_t vi_model_is_calibrated(const vi_model *model);
/** The model's recommended threshold on the copy score (0.5 when uncalibrated). Thread safety:
 *  any. @since 0.4 */
VI_API float vi_model_threshold(const vi_model *model);
/** How the model's calibration was fitted (data and measured precision/recall), "" when it is
 *  uncalibrated. Borrowed, lives as long as the model. Thread safety: any. @since 0.4 */
VI_API const char *vi_model_calibration_info(const vi_model *model);

/* ------------------------------------------------------------------------------------------ */
/* Embedding videos                                                                           */
/* ------------------------------------------------------------------------------------------ */

/** A video's fingerprint: one L2-normalised vector per sampled frame, their timestamps, and the
 *  video-level vector (the head applied to the mean frame feature). Immutable. */
typedef struct vi_embedding vi_embedding;

/** Progress callback: `done` and `total` in seconds of video (total 0 when unknown). Return
 *  nonzero to cancel; the call then fails with VI_E_CANCELLED. Runs on the calling thread. */
typedef int (*vi_progress_fn)(void *user, double done, double total);

/** Options for vi_embed_video. Initialise with vi_embed_options_init(). */
typedef struct vi_embed_options {
    uint32_t struct_size;       /**< set by vi_embed_options_init; never by hand */
    float fps;                  /**< frames sampled per second of video; 0 = 1.0 (max 60) */
    int32_t max_frames;         /**< stop after this many sampled frames; 0 = no cap */
    int32_t keyframes_only;     /**< 1: decode keyframes only (several times faster, coarser) */
    int32_t decode_threads;     /**< FFmpeg decoding threads; 0 = automatic */
    vi_progress_fn progress;    /**< optional progress / cancel hook */
    void *progress_user;        /**< passed to `progress`; never dereferenced by the library */
    /* new fields are appended here only */
} vi_embed_options;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small. */
VI_API vi_status vi_embed_options_init(vi_embed_options *opts, size_t struct_size);
#define VI_EMBED_OPTIONS_INIT(o) vi_embed_options_init(&(o), sizeof(o))

/**
 * Decode a video file with FFmpeg, sample frames (1 fps by default, on presentation time), run
 * the backbone and the head, and return its embedding. Frames are streamed: memory does not grow
 * with the video's length.
 * @param model  loaded model (shared, read-only)
 * @param path   any container and codec FFmpeg reads
 * @param opts   NULL for defaults
 * @param out    receives the embedding; free with vi_embedding_free()
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_NO_VIDEO, VI_E_DECODE, VI_E_UNSUPPORTED,
 *         VI_E_NOMEM, VI_E_INTERNAL, VI_E_CANCELLED
 * Thread safety: any thread; several threads may embed with the same model at once. @since 0.1
 */
VI_API vi_status vi_embed_video(const vi_model *model, const char *path,
                                const vi_embed_options *opts, vi_embedding **out);

/**
 * Embed frames the host decoded itself: `n_frames` packed RGB24 images of `width` x `height`,
 * row stride `stride` bytes (0 = width * 3), laid one after another (frame i starts at
 * rgb + i * stride * height), with presentation times `pts_us` in microseconds (NULL: 1 fps).
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_UNSUPPORTED, VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: any thread, as vi_embed_video. @since 0.1
 */
VI_API vi_status vi_embed_frames(const vi_model *model, const uint8_t *rgb, int32_t n_frames,
                                 int32_t width, int32_t height, int32_t stride,
                                 const int64_t *pts_us, vi_embedding **out);

/** Release an embedding. NULL is a no-op. */
VI_API void vi_embedding_free(vi_embedding *emb);

/** Vector dimension. */
VI_API int32_t vi_embedding_dim(const vi_embedding *emb);
/** Number of sampled frames (>= 1). */
VI_API int32_t vi_embedding_frame_count(const vi_embedding *emb);
/** Presentation time of each sampled frame, microseconds, as ffprobe reports them; borrowed. */
VI_API const int64_t *vi_embedding_timestamps(const vi_embedding *emb);
/** The video-level vector, `dim` floats, L2-normalised; borrowed. */
VI_API const float *vi_embedding_video_vector(const vi_embedding *emb);
/** The frame vectors, frame_count x dim floats row-major, each L2-normalised; borrowed. */
VI_API const float *vi_embedding_frame_vectors(const vi_embedding *emb);
/** Seconds of video the embedding covers: from the first decoded frame to the end of the last
 *  one decoded (0.4: no longer the duration the container declares, which a truncated file
 *  overstates; see vi_embedding_warnings). For vi_embed_frames, the span of the timestamps plus
 *  one frame interval. */
VI_API double vi_embedding_duration(const vi_embedding *emb);
/** Identifier of the model that made it (see vi_model_id); borrowed. */
VI_API const char *vi_embedding_model_id(const vi_embedding *emb);
/** 1 when the embedding was made by a calibrated model (it then carries each frame's background
 *  and the model's calibration, saved in its file); 0 otherwise. Thread safety: any.
 *  @since 0.4 */
VI_API int32_t vi_embedding_is_calibrated(const vi_embedding *emb);

/**
 * A copy of `emb` that carries `model`'s calibration: each frame's background against the
 * model's background bank, and the model's scoring constants. For embeddings made by the same
 * model before it was (re)calibrated: calibrating does not change a model's id or its vectors,
 * so a catalogue need not be embedded again.
 * @return VI_OK, VI_E_INVALID_ARG (NULL, or the model is uncalibrated), VI_E_FORMAT (the
 *         embedding comes from another model), VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: any thread. @since 0.4
 */
VI_API vi_status vi_embedding_calibrate(const vi_model *model, const vi_embedding *emb,
                                        vi_embedding **out);

/** Decoding problems met while embedding, as bits of vi_embed_warning (0: the file decoded
 *  cleanly to its end). Kept in the embedding file. Thread safety: any. @since 0.4 */
typedef enum vi_embed_warning {
    VI_EMBED_WARN_TRUNCATED = 1,      /**< decoding ended well before the declared duration */
    VI_EMBED_WARN_DAMAGED_FRAMES = 2  /**< some packets or frames could not be decoded and were skipped */
} vi_embed_warning;
/** The vi_embed_warning bits of `emb` (0 for NULL, for embeddings made by vi_embed_frames, and
 *  for embedding files written before 0.4).
 *  @param emb  the embedding
 *  @return a bitwise OR of vi_embed_warning values
 *  Thread safety: any. @since 0.4 */
VI_API int32_t vi_embedding_warnings(const vi_embedding *emb);

/** Write an embedding file (.vemb: versioned, zlib-compressed, CRC-checked). Written to a
 *  temporary name then renamed, so a crash never leaves a half-written file.
 *  @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_NOMEM. Thread safety: any thread. */
VI_API vi_status vi_embedding_save(const vi_embedding *emb, const char *path);
/** Read an embedding file. @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_FORMAT, VI_E_NOMEM */
VI_API vi_status vi_embedding_load(const char *path, vi_embedding **out);
/** Serialise to a new buffer `*data` of `*size` bytes; free it with vi_buffer_free(). */
VI_API vi_status vi_embedding_to_memory(const vi_embedding *emb, void **data, size_t *size);
/** Parse a serialised embedding from memory (copied). */
VI_API vi_status vi_embedding_from_memory(const void *data, size_t size, vi_embedding **out);

/** Free a buffer returned by a vi_*_to_memory function or vi_video_thumbnail. NULL is a no-op. */
VI_API void vi_buffer_free(void *data);

/* ------------------------------------------------------------------------------------------ */
/* Thumbnails                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/** Image formats of vi_video_thumbnail. */
typedef enum vi_image_format {
    VI_IMAGE_JPEG = 1, /**< JPEG (baseline, 4:2:0), small: the default */
    VI_IMAGE_PNG = 2   /**< PNG (RGB, lossless), larger */
} vi_image_format;

/** Options for vi_video_thumbnail. Initialise with vi_thumbnail_options_init(). @since 0.4 */
typedef struct vi_thumbnail_options {
    uint32_t struct_size; /**< set by vi_thumbnail_options_init; never by hand */
    int32_t max_side;     /**< longest side of the image in pixels, 16..4096; 0 = 320. A smaller
                               video is never enlarged */
    int32_t format;       /**< a vi_image_format; 0 = VI_IMAGE_JPEG */
    /* new fields are appended here only */
} vi_thumbnail_options;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @param opts         the options to fill
 *  @param struct_size  sizeof *opts
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small.
 *  Thread safety: any thread. @since 0.4 */
VI_API vi_status vi_thumbnail_options_init(vi_thumbnail_options *opts, size_t struct_size);
#define VI_THUMBNAIL_OPTIONS_INIT(o) vi_thumbnail_options_init(&(o), sizeof(o))

/**
 * Decode the frame of a video nearest a time and encode it as a JPEG or PNG image (libavcodec),
 * e.g. to show the matched frames of a comparison side by side. The frame is found by seeking to
 * the keyframe before `time_us` and decoding forward; it is shown as a player would (sample
 * aspect ratio and rotation metadata applied) and shrunk to fit `max_side`.
 * @param path      any file FFmpeg reads, as for vi_embed_video
 * @param time_us   presentation time in microseconds, on the timeline of
 *                  vi_embedding_timestamps() and of vi_segment (seconds times 1e6); a time
 *                  after the last frame gives the last frame
 * @param opts      NULL for defaults (JPEG, at most 320 pixels)
 * @param data      receives the image file's bytes; free with vi_buffer_free()
 * @param size      receives its size in bytes
 * @param frame_us  optional (NULL): receives the presentation time of the frame chosen
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_NO_VIDEO, VI_E_DECODE, VI_E_UNSUPPORTED,
 *         VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: any thread. @since 0.4
 */
VI_API vi_status vi_video_thumbnail(const char *path, int64_t time_us,
                                    const vi_thumbnail_options *opts, void **data, size_t *size,
                                    int64_t *frame_us);

/* ------------------------------------------------------------------------------------------ */
/* Comparing two videos                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** A copied span: [query_start, query_end] of the query matches [ref_start, ref_end] of the
 *  reference, in seconds on each video's own timeline. */
typedef struct vi_segment {
    double query_start;
    double query_end;
    double ref_start;
    double ref_end;
    float score; /**< mean frame similarity along the span, in [-1, 1] */
} vi_segment;

/** The result of a comparison. Immutable. */
typedef struct vi_match vi_match;

/** Options for vi_compare. Initialise with vi_compare_options_init(). */
typedef struct vi_compare_options {
    uint32_t struct_size; /**< set by vi_compare_options_init */
    int32_t localize;     /**< 1 (default): also find copied segments; 0: video-level only
                               (the score is then the library's fixed video-level score, never
                               a calibrated probability) */
    float threshold;      /**< threshold of the verdict vi_match_is_copy, in (0, 1]; 0 (default):
                               the model's recommended threshold (vi_model_threshold) @since 0.4 */
    /* new fields are appended here only */
} vi_compare_options;

/** Fill `opts` with defaults. @return VI_OK or VI_E_INVALID_ARG. */
VI_API vi_status vi_compare_options_init(vi_compare_options *opts, size_t struct_size);
#define VI_COMPARE_OPTIONS_INIT(o) vi_compare_options_init(&(o), sizeof(o))

/**
 * Compare a query with a reference.
 * @param query  the suspected copy
 * @param ref    the reference (original); both from the same model (else VI_E_FORMAT)
 * @param opts   NULL for defaults
 * @param out    receives the result; free with vi_match_free()
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_FORMAT, VI_E_NOMEM
 * Thread safety: any thread. @since 0.1
 */
VI_API vi_status vi_compare(const vi_embedding *query, const vi_embedding *ref,
                            const vi_compare_options *opts, vi_match **out);

/** Release a match. NULL is a no-op. */
VI_API void vi_match_free(vi_match *match);
/** Copy score in [0, 1]. With a calibrated model (vi_model_is_calibrated), the probability that
 *  the two videos share copied content, fitted for the model; otherwise the library's fixed
 *  score (see docs/thresholds.md). */
VI_API float vi_match_score(const vi_match *match);
/** The verdict: 1 when the score reaches vi_match_threshold ("copy"), else 0. Thread safety: any.
 *  @since 0.4 */
VI_API int32_t vi_match_is_copy(const vi_match *match);
/** The threshold of the verdict: vi_compare_options.threshold when set, else the model's
 *  recommended threshold (0.5 for an uncalibrated model). Thread safety: any. @since 0.4 */
VI_API float vi_match_threshold(const vi_match *match);
/** 1 when the score is the calibrated probability of the model's calibration; 0 when an
 *  embedding of the pair comes from an uncalibrated model (or from a file written before 0.4),
 *  or localisation was off. Thread safety: any. @since 0.4 */
VI_API int32_t vi_match_is_calibrated(const vi_match *match);
/** Cosine of the two video-level vectors, in [-1, 1]. */
VI_API float vi_match_video_similarity(const vi_match *match);
/** Number of copied segments found (0 when localisation is off or nothing matched). */
VI_API int32_t vi_match_segment_count(const vi_match *match);
/** Copy segment `i` (0 <= i < count) into `*out`. @return VI_OK or VI_E_INVALID_ARG */
VI_API vi_status vi_match_segment(const vi_match *match, int32_t i, vi_segment *out);

/* ------------------------------------------------------------------------------------------ */
/* Index: search a catalogue                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** A catalogue of reference embeddings, searchable by a query embedding.
 *
 * Search runs in two stages: FAISS finds, for each second of the query, the nearest reference
 * frame vectors; votes by (reference, time offset) pick the `candidates` most promising
 * references; those are re-ranked with the full comparison (as vi_compare), so that a copied
 * excerpt is found inside a longer video and each hit carries its segments. Frame vectors are
 * kept as float16. An index lives in memory (vi_index_create, vi_index_load) or on disk
 * (vi_index_open: memory-mapped, appendable, crash-safe; see docs/file-formats.md). */
typedef struct vi_index vi_index;
/** A ranked list of search results. Immutable. */
typedef struct vi_hits vi_hits;

/** How frame vectors are searched (vi_index_options.kind). Numbers are stored in files. */
typedef enum vi_index_kind {
    VI_INDEX_AUTO = 0,  /**< exact below 100 000 frame vectors (~28 h of video), IVF-PQ above */
    VI_INDEX_EXACT = 1, /**< FAISS flat inner product: exact, 1 KiB of RAM per vector */
    VI_INDEX_HNSW = 2,  /**< FAISS HNSW graph (M 32): approximate, fast to search, slow to build */
    VI_INDEX_IVFPQ = 3  /**< FAISS IVF + 32-byte product codes: approximate, 40 bytes per vector;
                             searched exactly until the index holds 10 000 vectors */
} vi_index_kind;

/** Options for vi_index_create_with and vi_index_open. Initialise with vi_index_options_init. */
typedef struct vi_index_options {
    uint32_t struct_size;    /**< set by vi_index_options_init; never by hand */
    int32_t kind;            /**< a vi_index_kind; 0 = automatic by size. For an existing on-disk
                                  index 0 keeps its kind; another value switches (rebuilds) */
    int32_t candidates;      /**< references re-ranked by full comparison per query; 0 = 20 */
    int32_t frame_neighbors; /**< nearest reference frames looked up per query frame; 0 = 16 */
    int32_t effort;          /**< HNSW efSearch or IVF nprobe; 0 = 64 / 16 (max 4096) */
    int32_t read_only;       /**< vi_index_open: 1 = never create or write the files */
    int32_t replace;         /**< vi_index_open: 1 = start a new, empty index that replaces the one
                                  at `path` (if any) in one step at the first successful
                                  vi_index_flush; until then readers see the old index, and
                                  vi_index_free without that flush leaves it untouched
                                  @since 0.4 */
    /* new fields are appended here only */
} vi_index_options;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small.
 *  Thread safety: any thread. @since 0.2 */
VI_API vi_status vi_index_options_init(vi_index_options *opts, size_t struct_size);
#define VI_INDEX_OPTIONS_INIT(o) vi_index_options_init(&(o), sizeof(o))

/** Create an empty index; its model is fixed by the first embedding added.
 *  Thread safety: any thread. @since 0.1 */
VI_API vi_status vi_index_create(vi_index **out);

/** As vi_index_create, with options (NULL: defaults).
 *  @return VI_OK, VI_E_INVALID_ARG (an option out of range), VI_E_NOMEM
 *  Thread safety: any thread. @since 0.2 */
VI_API vi_status vi_index_create_with(const vi_index_options *opts, vi_index **out);

/**
 * Open the on-disk index whose manifest is `path`, creating it if it does not exist (unless
 * opts->read_only). Its frame vectors live in "<path>.<uid>.vec", memory-mapped read-only; the
 * FAISS structure is cached in "<path>.faiss" (rebuilt from the vectors when missing, stale or
 * damaged). Each vi_index_add on it appends one CRC-checked entry to the data file and syncs
 * it, at a cost that does not grow with the index; a crash at any moment leaves the index as it
 * was after the last completed add (the next writer removes what the crash left). Every record
 * is CRC-checked on open. With opts->replace the index is rebuilt: see vi_index_options.
 * 0.2/0.3 indexes open as they are; opening one for adding upgrades its manifest (0.3 then
 * refuses it). An existing single-file index (vi_index_save) opens only with read_only.
 * @param path  manifest file (e.g. "catalogue.vidx")
 * @param opts  NULL for defaults
 * @param out   receives the index; vi_index_free() flushes and closes it
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_FORMAT (corrupt, truncated, newer version),
 *         VI_E_NOMEM, VI_E_INTERNAL (FAISS failed)
 * Thread safety: any thread. One writer at a time: opening for adding takes an exclusive lock
 * on "<path>.lock" before touching any other file, and a second writer (any thread or process)
 * fails with VI_E_IO; read-only opens take no lock and see the index as it was when they
 * opened it, also while it is being rebuilt. @since 0.2
 */
VI_API vi_status vi_index_open(const char *path, const vi_index_options *opts, vi_index **out);

/** Write what an on-disk index keeps only in memory (the FAISS structure of an HNSW or IVF-PQ
 *  index, to "<path>.faiss"; written to a temporary name and renamed). The references themselves
 *  are already on disk after each add. An index opened with `replace` first replaces the old
 *  index here. A no-op for in-memory and read-only indexes.
 *  @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_NOMEM, VI_E_INTERNAL
 *  Thread safety: exclusive. @since 0.2 */
VI_API vi_status vi_index_flush(vi_index *index);

/** The vi_index_kind in use now (never VI_INDEX_AUTO; VI_INDEX_EXACT while empty).
 *  Thread safety: as search. @since 0.2 */
VI_API int32_t vi_index_kind_used(const vi_index *index);

/** Number of frame vectors (indexed seconds at 1 fps) of all references. Thread safety: as
 *  search. @since 0.2 */
VI_API int64_t vi_index_frame_count(const vi_index *index);

/** Release an index (an on-disk one is flushed first, errors ignored: call vi_index_flush to
 *  see them). NULL is a no-op. Thread safety: exclusive. */
VI_API void vi_index_free(vi_index *index);

/**
 * Add a reference under `id` (copied; ids need not be unique but should be). The embedding is
 * copied, so it may be freed afterwards.
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_FORMAT (embedding of another model), VI_E_NOMEM;
 *         on-disk indexes also VI_E_IO, and VI_E_INVALID_ARG when opened read-only. On failure
 *         the index is unchanged, with one exception: if FAISS fails (VI_E_INTERNAL, VI_E_NOMEM)
 *         after an on-disk add was committed, the reference stays and searches compare every
 *         reference until a later add rebuilds the FAISS structure.
 * Thread safety: exclusive (no concurrent search, add or save). @since 0.1
 */
VI_API vi_status vi_index_add(vi_index *index, const char *id, const vi_embedding *emb);

/** Number of references. Thread safety: as search. */
VI_API int32_t vi_index_size(const vi_index *index);
/** Id of reference `i`, borrowed (valid until the index is freed); NULL if out of range. */
VI_API const char *vi_index_id(const vi_index *index, int32_t i);

/**
 * The `k` references most similar to `query`, best first.
 * @param index  the catalogue
 * @param query  embedding of the video to look up (same model as the index)
 * @param k      how many hits: k (or every reference when the index holds fewer); k <= 0
 *               means 10. At least k references are compared in full whatever `candidates`
 *               says (0.4; 0.3 returned at most `candidates`)
 * @param out    receives the hits; free with vi_hits_free()
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_FORMAT (query of another model: the message names both
 *         model ids), VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: several threads may search one index at once. @since 0.1
 */
VI_API vi_status vi_index_search(const vi_index *index, const vi_embedding *query, int32_t k,
                                 vi_hits **out);

/** Write the index to one self-contained file (versioned, compressed, CRC-checked, float32
 *  vectors decoded from the index's float16; written to a temporary name and renamed, so a crash
 *  leaves the previous file intact). Saving an on-disk index to its own manifest (the same file
 *  by device and inode, whatever the spelling of the path) does nothing: the manifest is always
 *  current; saving it over one of its other files fails with VI_E_INVALID_ARG.
 *  Thread safety: as search. */
VI_API vi_status vi_index_save(const vi_index *index, const char *path);
/** Read an index: a file written by vi_index_save (read whole into memory), or the manifest of
 *  an on-disk index (opened read-only, as vi_index_open with read_only = 1).
 *  @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_FORMAT, VI_E_NOMEM, VI_E_INTERNAL */
VI_API vi_status vi_index_load(const char *path, vi_index **out);

/** Release hits. NULL is a no-op. */
VI_API void vi_hits_free(vi_hits *hits);
/** Number of hits (<= k). */
VI_API int32_t vi_hits_count(const vi_hits *hits);
/** Id of hit `i`, borrowed (lives as long as the hits); NULL if out of range. */
VI_API const char *vi_hits_id(const vi_hits *hits, int32_t i);
/** Score of hit `i` (as vi_match_score); 0 if out of range. */
VI_API float vi_hits_score(const vi_hits *hits, int32_t i);
/** The full comparison behind hit `i` (segments), borrowed; NULL if out of range. */
VI_API const vi_match *vi_hits_match(const vi_hits *hits, int32_t i);

/* ------------------------------------------------------------------------------------------ */
/* Calibration: a copy verdict fitted for a model                                             */
/* ------------------------------------------------------------------------------------------ */

/** Fits a model's scoring calibration (docs/thresholds.md): a background bank made from footage
 *  that copies nothing (blank screens, title cards, desktops, ordinary photographs: what many
 *  videos resemble), and the constants that turn a comparison's evidence (how alike the aligned
 *  frames are, how far above their background, how much better than the pair's other
 *  alignments, for how many seconds) into the probability that two videos share copied
 *  content, with the threshold to act on. The fit uses a labelled catalogue: references, and
 *  queries that each copy one reference or none. vi_calibrator_save writes the model with its
 *  calibration. Not thread-safe: one thread at a time. @since 0.4 */
typedef struct vi_calibrator vi_calibrator;

/** Options for vi_calibrator_create. Initialise with vi_calibrate_options_init(). @since 0.4 */
typedef struct vi_calibrate_options {
    uint32_t struct_size;     /**< set by vi_calibrate_options_init; never by hand */
    int32_t bank_size;        /**< background vectors kept at most, spread evenly (20000) */
    int32_t bank_k;           /**< nearest background vectors averaged into a frame's background,
                                   1..64 (3) */
    float target_precision;   /**< the recommended threshold is the lowest at which the labelled
                                   comparisons reach this precision, 0.5..1 (0.95) */
    int32_t verdict_only;     /**< 1: keep the (calibrated) base model's background bank,
                                   segment evidence weights and pairwise probability; fit only
                                   the catalogue probability and the threshold: for catalogues
                                   of look-alike references (0) @since 0.4 */
    /* new fields are appended here only */
} vi_calibrate_options;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small.
 *  Thread safety: any thread. @since 0.4 */
VI_API vi_status vi_calibrate_options_init(vi_calibrate_options *opts, size_t struct_size);
#define VI_CALIBRATE_OPTIONS_INIT(o) vi_calibrate_options_init(&(o), sizeof(o))

/** What a fit measured on its own labelled comparisons (every query against every reference,
 *  scored as vi_index_search scores hits). Set `struct_size` (VI_CALIBRATION_REPORT_INIT)
 *  before passing it. @since 0.4 */
typedef struct vi_calibration_report {
    uint32_t struct_size;  /**< sizeof the struct, set by the caller */
    int32_t pairs;         /**< (query, reference) comparisons */
    int32_t copies;        /**< of them, copies */
    int32_t bank_vectors;  /**< background vectors kept */
    float micro_ap;        /**< average precision over all comparisons pooled */
    float threshold;       /**< the recommended threshold chosen */
    float precision;       /**< precision at that threshold */
    float recall;          /**< recall at that threshold */
    /* new fields are appended here only */
} vi_calibration_report;
#define VI_CALIBRATION_REPORT_INIT(r) ((r).struct_size = (uint32_t)sizeof(r))

/**
 * Create a calibrator for `base`, which must have an embedding head (the model must stay loaded
 * while the calibrator lives). A calibration `base` already has is replaced by the fit.
 * @param base  a loaded model with a head
 * @param opts  NULL for defaults
 * @param out   receives the calibrator; free with vi_calibrator_free()
 * @return VI_OK, VI_E_INVALID_ARG (no head, an option out of range), VI_E_NOMEM
 * Thread safety: any thread. @since 0.4
 */
VI_API vi_status vi_calibrator_create(const vi_model *base, const vi_calibrate_options *opts,
                                      vi_calibrator **out);

/** Release a calibrator. NULL is a no-op. Thread safety: exclusive. @since 0.4 */
VI_API void vi_calibrator_free(vi_calibrator *cal);

/** Add the frame vectors of `background` (an embedding made by the calibrator's model, e.g. of
 *  a video sampled at 2 frames per second, or of an image) to the background bank. Use footage
 *  that copies nothing your queries will be checked against.
 *  @return VI_OK, VI_E_INVALID_ARG (NULL), VI_E_FORMAT (another model), VI_E_NOMEM.
 *  Thread safety: exclusive. @since 0.4 */
VI_API vi_status vi_calibrator_add_background(vi_calibrator *cal, const vi_embedding *background);

/** Add a reference of the labelled catalogue under `id` (copied; unique) with its embedding
 *  (made by the calibrator's model; copied).
 *  @return VI_OK, VI_E_INVALID_ARG (NULL, a repeated id), VI_E_FORMAT (another model),
 *          VI_E_NOMEM. Thread safety: exclusive. @since 0.4 */
VI_API vi_status vi_calibrator_add_reference(vi_calibrator *cal, const char *id,
                                             const vi_embedding *ref);

/** Add a query of the labelled catalogue: its embedding (copied) and the id of the reference it
 *  copies, or NULL when it copies none of them. Add the references first.
 *  @return VI_OK, VI_E_INVALID_ARG (NULL, an unknown reference id), VI_E_FORMAT (another model),
 *          VI_E_NOMEM. Thread safety: exclusive. @since 0.4 */
VI_API vi_status vi_calibrator_add_query(vi_calibrator *cal, const vi_embedding *query,
                                         const char *copies_id);

/** Fit the calibration: the bank, every frame's background, every query against every
 *  reference, the logistic fits and the threshold (docs/thresholds.md). `report` may be NULL.
 *  @return VI_OK, VI_E_INVALID_ARG (no background, no references, or not both copying and
 *          non-copying queries), VI_E_NOMEM, VI_E_INTERNAL. Thread safety: exclusive. @since 0.4 */
VI_API vi_status vi_calibrator_fit(vi_calibrator *cal, vi_calibration_report *report);

/** Write the base model with the fitted calibration (its id changes: embeddings made before
 *  must be made again to carry it). Written to a temporary name then renamed.
 *  @return VI_OK, VI_E_INVALID_ARG (not fitted since the last input), VI_E_IO, VI_E_NOMEM
 *  Thread safety: exclusive. @since 0.4 */
VI_API vi_status vi_calibrator_save(const vi_calibrator *cal, const char *path);

/* ------------------------------------------------------------------------------------------ */
/* Training                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Trains a DMI head (../shared/docs/dmi.md) on the frozen backbone of a base model. Videos are
 *  decoded once; each becomes `views` copy-style augmented versions (flips, crops, colour and
 *  gamma, blur, noise, borders, greyscale, rotation; with filter_augment also libavfilter edits)
 *  whose backbone frame features are kept in memory (and optionally on disk, see cache_dir), so
 *  that epochs only run the small linear head. Runs can be checkpointed and resumed
 *  (checkpoint, vi_trainer_load_checkpoint). Not thread-safe: one thread at a time. */
typedef struct vi_trainer vi_trainer;

/** Options for vi_trainer_create. Initialise with vi_train_options_init(). */
typedef struct vi_train_options {
    uint32_t struct_size;   /**< set by vi_train_options_init; never by hand */
    uint64_t seed;          /**< seeds the head's initialisation, augmentations and batches (1) */
    float fps;              /**< frames sampled per second of video (1.0, max 60) */
    int32_t max_frames;     /**< frames kept per video, taken uniformly (60) */
    int32_t views;          /**< augmented versions cached per video, 2..16 (4; the first is
                                 the video as decoded) */
    int32_t batch_pairs;    /**< (anchor, positive) pairs per step (64), at most half the
                                 groups so that the other half provides negatives */
    int32_t max_negatives;  /**< negatives per step: other videos' cached views (2048) */
    float learning_rate;    /**< Adam learning rate (1e-4) */
    float weight_decay;     /**< Adam (L2) weight decay (5e-4) */
    int32_t lr_step_epochs; /**< multiply the learning rate by 0.1 after this many epochs
                                 (0, constant; DMI's schedule is 50 of its larger epochs) */
    const char *cache_dir;  /**< directory (created if missing) where each video's features are
                                 cached on disk, so that a later trainer with the same model,
                                 options and video skips decoding; copied. NULL: memory only */
    float exclusivity_weight; /**< weight of the exclusivity D in the loss (0.1; 0 ablates D)
                                   @since 0.2 */
    float mi_weight;        /**< weight of the mutual-information term M (0.7; 0 ablates M)
                                 @since 0.2 */
    int32_t single_head;    /**< 1: train one linear head (the auxiliary one) with InfoNCE
                                 alone; the sub-feature heads and fusion stay zero, so the
                                 embedding is L2norm(a) (an ablation baseline). 0: DMI @since 0.2 */
    int32_t on_base_head;   /**< 1: train on the output of the base model's head (e.g. a
                                 PCA-whitening head) as a fixed first layer, folded into the saved
                                 head; the head starts as the base model (auxiliary head the
                                 identity, fusion zero). The base model needs a 256-d head.
                                 @since 0.2 */
    const char *checkpoint; /**< file written (atomically) after every epoch with the head,
                                 Adam's state, the epoch count and the generator state, for
                                 vi_trainer_load_checkpoint; copied. NULL: none @since 0.2 */
    int32_t filter_augment; /**< 1: every augmented view also gets an edit made by libavfilter
                                 before the pixel operations: speed or frame-rate change,
                                 temporal crop, hue, caption band, picture-in-picture over
                                 generated footage, or a logo (docs/training.md). 0 (default):
                                 pixel operations only @since 0.2 */
    /* new fields are appended here only */
} vi_train_options;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small. @since 0.1 */
VI_API vi_status vi_train_options_init(vi_train_options *opts, size_t struct_size);
#define VI_TRAIN_OPTIONS_INIT(o) vi_train_options_init(&(o), sizeof(o))

/** Loss terms of one epoch, each the mean over the epoch's steps (see dmi.md, "Losses"). */
typedef struct vi_train_losses {
    double total;        /**< the objective minimised */
    double nce;          /**< sum of the InfoNCE terms (sub-features, auxiliary, concat, final) */
    double exclusivity;  /**< D, pair and negative batches summed (maximised) */
    double mutual_info;  /**< M, pair and negative batches summed (minimised) */
    int32_t steps;       /**< optimiser steps in the epoch */
} vi_train_losses;

/** Per-epoch callback: `epoch` counts from 1; `losses` is borrowed for the call. Return nonzero
 *  to stop; vi_trainer_run then fails with VI_E_CANCELLED (the head keeps what it learnt). */
typedef int (*vi_train_epoch_fn)(void *user, int32_t epoch, const vi_train_losses *losses);

/**
 * Create a trainer on the backbone of `base` (kept frozen; the model must stay loaded while the
 * trainer lives). The head starts from a random initialisation drawn from `opts->seed`.
 * @param base  a model loaded with vi_model_load or vi_model_load_memory
 * @param opts  NULL for defaults
 * @param out   receives the trainer; free with vi_trainer_free()
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: any thread. @since 0.1
 */
VI_API vi_status vi_trainer_create(const vi_model *base, const vi_train_options *opts,
                                   vi_trainer **out);

/** Release a trainer. NULL is a no-op. Thread safety: exclusive. @since 0.1 */
VI_API void vi_trainer_free(vi_trainer *trainer);

/**
 * Decode `path`, make its augmented views and cache their backbone features.
 * @param trainer the trainer (exclusive use during the call)
 * @param path   any video FFmpeg reads
 * @param group  >= 0: a labelled group of near-duplicates (videos sharing a group are positives
 *               of each other); -1: self-supervised (two views of this video form a positive)
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_NO_VIDEO, VI_E_DECODE, VI_E_UNSUPPORTED,
 *         VI_E_NOMEM, VI_E_INTERNAL. On failure the trainer is unchanged.
 * Thread safety: exclusive. @since 0.1
 */
VI_API vi_status vi_trainer_add_video(vi_trainer *trainer, const char *path, int32_t group);

/** Number of videos added so far. Thread safety: exclusive. @since 0.1 */
VI_API int32_t vi_trainer_video_count(const vi_trainer *trainer);

/**
 * Train for `epochs` epochs (each visits every group with at least two cached views once, in
 * batches of `batch_pairs`). Deterministic given the seed and the order of vi_trainer_add_video
 * calls. `on_epoch` may be NULL.
 * @return VI_OK, VI_E_INVALID_ARG (no videos, or nothing forms a positive pair), VI_E_NOMEM,
 *         VI_E_INTERNAL, VI_E_CANCELLED
 * Thread safety: exclusive. @since 0.1
 */
VI_API vi_status vi_trainer_run(vi_trainer *trainer, int32_t epochs, vi_train_epoch_fn on_epoch,
                                void *user);

/**
 * Write a complete model file: the base model's backbone tensors and metadata, and the trained
 * dmi.* head (float32). Written to a temporary name then renamed. Loads with vi_model_load.
 * @return VI_OK, VI_E_INVALID_ARG, VI_E_IO, VI_E_BAD_MODEL, VI_E_NOMEM, VI_E_INTERNAL
 * Thread safety: exclusive. @since 0.1
 */
VI_API vi_status vi_trainer_save(const vi_trainer *trainer, const char *path);

/**
 * Resume from a checkpoint written by a trainer with `checkpoint` set: restores the head, the
 * optimiser state, the epoch count and the generator, so that running the remaining epochs gives
 * the same head, bit for bit, as an uninterrupted run. Call after adding the same videos in the
 * same order, with the same base model and options.
 * @return VI_OK; VI_E_IO (unreadable), VI_E_FORMAT (not a checkpoint, or damaged),
 *         VI_E_INVALID_ARG (written for another run: other model, options or videos), VI_E_NOMEM,
 *         VI_E_INTERNAL
 * Thread safety: exclusive. @since 0.2
 */
VI_API vi_status vi_trainer_load_checkpoint(vi_trainer *trainer, const char *path);

/** Epochs trained so far, including those restored from a checkpoint. Thread safety:
 *  exclusive. @since 0.2 */
VI_API int32_t vi_trainer_epochs_done(const vi_trainer *trainer);

/* ------------------------------------------------------------------------------------------ */
/* Fine-tuning the backbone                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Options for vi_backbone_finetune. Initialise with vi_finetune_options_init(). */
typedef struct vi_finetune_options {
    uint32_t struct_size;      /**< set by vi_finetune_options_init; never by hand */
    uint64_t seed;             /**< seeds the frame sampling and the augmentations (1) */
    int32_t trainable_blocks;  /**< trainable units counted from the end, 1..19: 1 = the final
                                    1x1 convolution Conv_1, 2 = + block_16, ... 19 = the whole
                                    network (7: Conv_1 and block_11..block_16, the default
                                    model's recipe) */
    int32_t steps;             /**< optimiser steps (1200) */
    int32_t batch;             /**< source frames per step, 2..512 (32); each gives two
                                    independently augmented views */
    float learning_rate;       /**< AdamW peak learning rate (1e-4); linear warm-up over the
                                    first 5 % of the steps, then a cosine decay to zero */
    float weight_decay;        /**< AdamW decoupled weight decay (0) */
    float temperature;         /**< InfoNCE temperature, 0.01..1 (0.07) */
    float koleo_weight;        /**< weight of SSCD's KoLeo entropy regulariser (0 = off) */
    const char *checkpoint_path; /**< NULL: no checkpoints. Otherwise written every
                                    checkpoint_every steps and at the end (atomically), and a run
                                    whose checkpoint exists resumes from it; copied */
    int32_t checkpoint_every;  /**< steps between checkpoints (100) */
    const char *frame_cache_path; /**< NULL: frames are decoded into memory for this call only.
                                    Otherwise the decoded frames are kept in this file and reused
                                    by a later call with the same inputs; copied */
    int32_t frames_per_video;  /**< frames sampled from each video, spread over its duration
                                    (120); a still image gives 4 (whole + 3 crops) */
    int32_t head;              /**< a vi_finetune_head: VI_FINETUNE_HEADLESS (the default) or
                                    VI_FINETUNE_HEAD_DMI. @since 0.3 */
    float head_learning_rate;  /**< AdamW peak learning rate of a DMI head (1e-3), on the same
                                    warm-up and cosine schedule. @since 0.3 */
    float temporal_positive;   /**< probability, 0..1, that the second view of a video frame is
                                    made from a neighbouring sampled frame of the same video
                                    instead (0), for robustness to where 1 fps sampling lands.
                                    @since 0.3 */
    float exclusivity_weight;  /**< DMI head: weight of the exclusivity term D (0.1). @since 0.3 */
    float mi_weight;           /**< DMI head: weight of the auxiliary term M (0.7). @since 0.3 */
    float scene_negatives;     /**< share of each step's sources, 0..0.5, replaced by another
                                    moment of a video already in the step (at least a third of
                                    the video away and visibly different), so that the embedding
                                    learns to tell moments of one scene apart (0). @since 0.3 */
    float vflip;               /**< probability, 0..1, that a view is turned upside down (0).
                                    @since 0.3 */
    /* new fields are appended here only */
} vi_finetune_options;

/** What vi_backbone_finetune trains on top of the backbone. @since 0.3 */
typedef enum vi_finetune_head {
    VI_FINETUNE_HEADLESS = 0, /**< nothing: InfoNCE on the backbone's frame features; the written
                                   model is headless */
    VI_FINETUNE_HEAD_DMI = 1  /**< a DMI head (six sub-feature heads, auxiliary head, fusion;
                                   docs/model.md) trained jointly with the backbone by DMI's
                                   losses (InfoNCE on every sub-feature, exclusivity D, auxiliary
                                   term M) on the frame views; the written model carries it */
} vi_finetune_head;

/** Fill `opts` with defaults and record `struct_size` (pass sizeof *opts).
 *  @return VI_OK, or VI_E_INVALID_ARG when opts is NULL or struct_size too small.
 *  Thread safety: any thread. @since 0.2 */
VI_API vi_status vi_finetune_options_init(vi_finetune_options *opts, size_t struct_size);
#define VI_FINETUNE_OPTIONS_INIT(o) vi_finetune_options_init(&(o), sizeof(o))

/** Phases reported by vi_finetune_progress_fn. */
typedef enum vi_finetune_phase {
    VI_FINETUNE_DECODING = 1,  /**< decoding the inputs into the frame cache (done/total files) */
    VI_FINETUNE_TRAINING = 2   /**< training (done/total steps) */
} vi_finetune_phase;

/** What the progress callback receives (borrowed for the call). */
typedef struct vi_finetune_progress {
    int32_t phase;     /**< a vi_finetune_phase */
    int32_t done;      /**< files decoded or steps done so far */
    int32_t total;     /**< files or steps in all */
    float loss;        /**< training: loss of the last step */
    float loss_avg;    /**< training: mean loss since the last checkpoint (or the start) */
    float accuracy;    /**< training: fraction of views whose nearest view is their positive */
    double seconds;    /**< wall time since the call started */
} vi_finetune_progress;

/** Progress callback, called after each decoded file and each step. Return nonzero to stop:
 *  vi_backbone_finetune then writes a checkpoint (when configured) and fails with
 *  VI_E_CANCELLED; a later call with the same options resumes. */
typedef int (*vi_finetune_progress_fn)(void *user, const vi_finetune_progress *progress);

/**
 * Fine-tune the last blocks of the backbone of `base` contrastively on frames of the given
 * videos and still images (SSCD-style: two copy-style augmented views per source frame -
 * crops, flips, colour, blur, noise, borders, rotation, text/logo overlays, picture-in-picture,
 * blockiness, low resolution - InfoNCE over all views of a batch), and write a model file whose
 * backbone is the fine-tuned one. With `head` VI_FINETUNE_HEADLESS the written model is headless
 * (embeddings are the backbone's L2-normalised frame features): a head fitted on the old
 * features does not fit the new ones, so fit or train one afterwards (models/make_default.sh,
 * vi_trainer_*). With VI_FINETUNE_HEAD_DMI a DMI head is trained together with the backbone
 * (DMI's losses) and written with it. It keeps the base's input size and mirror averaging. Inputs that cannot be decoded are skipped with a warning
 * (vi_log_set). Deterministic given the seed, the options and the inputs, including across an
 * interruption and resume.
 * @param base      a loaded model; its backbone is the starting point (not modified)
 * @param paths     `n_paths` UTF-8 paths of videos or images (borrowed)
 * @param n_paths   number of paths (>= 1)
 * @param opts      NULL for defaults
 * @param progress  may be NULL
 * @param user      passed to `progress` unchanged
 * @param out_model_path  where to write the model (atomically)
 * @return VI_OK, VI_E_INVALID_ARG (no paths, nothing decodable, bad option), VI_E_IO,
 *         VI_E_FORMAT (corrupt checkpoint or frame cache, or one made with other options),
 *         VI_E_BAD_MODEL, VI_E_NOMEM, VI_E_INTERNAL, VI_E_CANCELLED
 * Thread safety: any thread; several calls may run at once on one model. @since 0.2
 */
VI_API vi_status vi_backbone_finetune(const vi_model *base, const char *const *paths,
                                      int32_t n_paths, const vi_finetune_options *opts,
                                      vi_finetune_progress_fn progress, void *user,
                                      const char *out_model_path);

#ifdef __cplusplus
}
#endif

#endif /* VINFRINGE_H */
