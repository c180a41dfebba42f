/* The trainer: a cache of backbone frame features for augmented views of each video, batches of
 * (anchor, positive) pairs plus negatives, Adam steps through train_dmi.cpp, and saving
 * a complete model file.
 *
 * Items. Each added video becomes `views` items (view 0 as decoded, the others transformed by
 * vi__augment), each holding the frame features of up to `max_frames` frames taken uniformly
 * (idx_i = int(i * (n - 1) / (max_frames - 1)), as dmi.md). An item belongs to a group: the
 * caller's label for labelled videos, or a group of its own video for self-supervised ones.
 *
 * A step. Up to `batch_pairs` groups with at least two items (and at most half of them, so that
 * the rest provide negatives); from each, an anchor and a positive
 * (from another video of the group when there is one, else another view). Negatives: every item
 * of the other groups, a random subset of `max_negatives` when there are more. Every item enters
 * as its video-level feature, the mean of its frame features, except that with probability 0.5,
 * when it has more than 10 frames, a random subset of 5 (T < 15), 10 (T < 30) or 15 frames is
 * averaged instead (dmi.md's temporal augmentation). An epoch visits every such group once.
 *
 * Options beyond the paper: views edited by libavfilter before the pixel operations
 * (train_filter.c; such views may change length), a fixed first layer taken from the base
 * model's head (on_base_head: items hold its output; saving folds it back in), loss switches for
 * ablations, and checkpoints (head, Adam's state, epoch count, generator) after every epoch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../decode/decode.h"
#include "../formats/formats.h"
#include "../model/model.h"
#include "train.h"
#include "train_dmi.h"

#define OUT_DIM 256
#define MAX_DECODED_PER_KEPT 20 /* decoding stops after max_frames * this many frames */
#define CACHE_MAGIC "VIFEATS\0"
#define CKPT_MAGIC "VICKPT\0\0"
#define CACHE_MAX_BYTES ((size_t)1 << 32)

struct item {
    int32_t video;
    int64_t group; /* label >= 0, or -1 - video for self-supervised */
    int32_t n_frames;
    float *feat;   /* n_frames x fdim */
};

struct vi__trainer {
    const vi__net *net;
    int32_t fdim, size;
    int32_t in;          /* the head's input: fdim, or pre_out with on_base_head */
    float *pre_A, *pre_b; /* on_base_head: the base head (pre_out x fdim), a fixed first layer */
    int32_t pre_out;
    const uint8_t *base;
    size_t base_size;
    vi_train_options o;  /* o.cache_dir, o.checkpoint point to the copies below */
    char *cache_dir, *checkpoint;
    uint32_t base_crc;   /* identifies the backbone in cache keys */
    vi__dmi *dmi;
    vi__rng rng;
    struct item *items;
    int32_t n_items, cap_items;
    int32_t n_videos;
    int32_t epochs_done;
};

/* Start the head from the base model: the auxiliary head the identity, the fusion zero (so the
 * embedding starts as the base model's), the sub-feature heads as initialised. */
static vi_status init_from_base(vi__trainer *t) {
    float *W = vi__calloc((size_t)OUT_DIM * 6 * OUT_DIM, sizeof(float));
    float *b = vi__calloc(OUT_DIM, sizeof(float));
    vi_status st = W && b ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    if (st == VI_OK) st = vi__dmi_set(t->dmi, VI__DMI_FUSE, W, b);
    if (st == VI_OK) {
        for (int32_t i = 0; i < OUT_DIM; i++) W[(size_t)i * OUT_DIM + i] = 1.0f;
        st = vi__dmi_set(t->dmi, VI__DMI_AUX, W, b);
    }
    vi__free(W);
    vi__free(b);
    return st;
}

/* single_head: the sub-feature heads and the fusion are zero (and never trained). */
static vi_status zero_all_but_aux(vi__trainer *t) {
    const int32_t wide = t->in > 6 * OUT_DIM ? t->in : 6 * OUT_DIM;
    float *W = vi__calloc((size_t)OUT_DIM * wide, sizeof(float));
    float *b = vi__calloc(OUT_DIM, sizeof(float));
    vi_status st = W && b ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t l = 0; st == VI_OK && l < VI__DMI_LAYERS; l++)
        if (l != VI__DMI_AUX) st = vi__dmi_set(t->dmi, l, W, b);
    vi__free(W);
    vi__free(b);
    return st;
}

vi_status vi__trainer_create(const vi__net *net, int32_t feature_dim, int32_t input_size,
                             const vi__head *base_head, const uint8_t *base_model,
                             size_t base_size, const vi_train_options *opts,
                             vi__trainer **out) {
    *out = NULL;
    vi__trainer *t = vi__calloc(1, sizeof *t);
    if (!t) return vi__fail(VI_E_NOMEM, "out of memory");
    t->net = net;
    t->fdim = feature_dim;
    t->in = feature_dim;
    t->size = input_size;
    t->base = base_model;
    t->base_size = base_size;
    t->o = *opts;
    t->o.cache_dir = NULL;
    t->rng.s = opts->seed ^ 0x5DEECE66Dull;
    t->base_crc = vi__crc32(0, base_model, base_size);
    vi_status st = VI_OK;
    if (opts->cache_dir) {
        if (!(t->cache_dir = vi__strdup(opts->cache_dir)))
            st = vi__fail(VI_E_NOMEM, "out of memory");
        else if (mkdir(t->cache_dir, 0777) != 0 && errno != EEXIST)
            st = vi__fail(VI_E_IO, "cannot create the feature cache directory %s: %s",
                          t->cache_dir, strerror(errno));
        t->o.cache_dir = t->cache_dir;
    }
    if (st == VI_OK && opts->on_base_head) {
        if (!base_head || !base_head->A || base_head->in_dim != feature_dim ||
            base_head->out_dim != OUT_DIM) {
            st = vi__fail(VI_E_INVALID_ARG, "on_base_head needs a base model with a %d-d head",
                          OUT_DIM);
        } else {
            t->pre_out = base_head->out_dim;
            t->pre_A = vi__mallocarray((size_t)t->pre_out * feature_dim, sizeof(float));
            t->pre_b = vi__mallocarray((size_t)t->pre_out, sizeof(float));
            if (!t->pre_A || !t->pre_b) {
                st = vi__fail(VI_E_NOMEM, "out of memory");
            } else {
                memcpy(t->pre_A, base_head->A, (size_t)t->pre_out * feature_dim * sizeof(float));
                memcpy(t->pre_b, base_head->b, (size_t)t->pre_out * sizeof(float));
                t->in = t->pre_out;
            }
        }
    }
    if (st == VI_OK)
        st = vi__dmi_create(t->in, OUT_DIM, opts->seed, opts->learning_rate, opts->weight_decay,
                            &t->dmi);
    if (st == VI_OK)
        st = vi__dmi_set_loss(t->dmi, opts->exclusivity_weight, opts->mi_weight,
                              opts->single_head);
    if (st == VI_OK && opts->single_head) st = zero_all_but_aux(t);
    if (st == VI_OK && opts->on_base_head) st = init_from_base(t);
    if (st == VI_OK && opts->checkpoint && !(t->checkpoint = vi__strdup(opts->checkpoint)))
        st = vi__fail(VI_E_NOMEM, "out of memory");
    t->o.checkpoint = t->checkpoint;
    if (st != VI_OK) {
        vi__dmi_free(t->dmi);
        vi__free(t->checkpoint);
        vi__free(t->pre_A);
        vi__free(t->pre_b);
        vi__free(t->cache_dir);
        vi__free(t);
        return st;
    }
    *out = t;
    return VI_OK;
}

void vi__trainer_free(vi__trainer *t) {
    if (!t) return;
    vi__free(t->cache_dir);
    vi__free(t->checkpoint);
    vi__free(t->pre_A);
    vi__free(t->pre_b);
    for (int32_t i = 0; i < t->n_items; i++) vi__free(t->items[i].feat);
    vi__free(t->items);
    vi__dmi_free(t->dmi);
    vi__free(t);
}

int32_t vi__trainer_video_count(const vi__trainer *t) { return t->n_videos; }

/* Decode every sampled frame (up to a bound) into a growing buffer. */
static vi_status decode_all(const vi__trainer *t, const char *path, uint8_t **frames,
                            int32_t *n_frames) {
    *frames = NULL;
    *n_frames = 0;
    const size_t fbytes = (size_t)t->size * t->size * 3;
    vi__decode_params p = {t->o.fps, t->o.max_frames * MAX_DECODED_PER_KEPT, 0, 0, t->size};
    struct vi__decoder *dec;
    vi_status st = vi__decoder_open(path, &p, &dec);
    if (st != VI_OK) return st;
    uint8_t *buf = NULL;
    int32_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            int32_t ncap = cap ? cap * 2 : 16;
            uint8_t *nb = vi__realloc(buf, (size_t)ncap * fbytes);
            if (!nb) {
                st = vi__fail(VI_E_NOMEM, "out of memory after %d frames of %s", n, path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        int got = 0;
        int64_t pts;
        st = vi__decoder_next(dec, buf + (size_t)n * fbytes, &pts, &got);
        if (st != VI_OK || !got) break;
        n++;
    }
    vi__decoder_close(dec);
    if (st == VI_OK && n == 0) st = vi__fail(VI_E_NO_VIDEO, "%s: no frames", path);
    if (st != VI_OK) {
        vi__free(buf);
        return st;
    }
    /* keep max_frames of them, uniformly */
    if (n > t->o.max_frames) {
        const int32_t k = t->o.max_frames;
        for (int32_t i = 0; i < k; i++) {
            const int32_t src = k > 1 ? (int32_t)((int64_t)i * (n - 1) / (k - 1)) : 0;
            if (src != i) memmove(buf + (size_t)i * fbytes, buf + (size_t)src * fbytes, fbytes);
        }
        n = k;
    }
    *frames = buf;
    *n_frames = n;
    return VI_OK;
}

/* The cache file of a video and the key that must match inside it: the backbone, the file
 * (path, size, modification time) and everything that shapes its views. 0 when the file cannot
 * be stat'ed (decoding then reports the problem). */
static int cache_names(const vi__trainer *t, const char *path, uint64_t rng_seed, char *file,
                       size_t file_size, char *key, size_t key_size) {
    struct stat sb;
    if (!t->cache_dir || stat(path, &sb) != 0) return 0;
    snprintf(key, key_size, "vifeat1|%08x|%s|%lld|%lld.%09ld|%g|%d|%d|%llu|%d%s", t->base_crc,
             path, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec,
             (double)t->o.fps, t->o.max_frames, t->o.views, (unsigned long long)rng_seed, t->size,
             t->o.filter_augment ? "|libavfilter 1" : "");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char safe[48];
    size_t j = 0;
    for (; base[j] && j + 1 < sizeof safe; j++) {
        const char c = base[j];
        safe[j] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' ? c : '_';
    }
    safe[j] = 0;
    snprintf(file, file_size, "%s/%08x-%s.vifeat", t->cache_dir, vi__crc32(0, key, strlen(key)),
             safe);
    return 1;
}

/* Fill items[0 .. views) from a cache file; non-OK (nothing kept) when absent or not matching.
 * "features" is views x n x fdim when every view has n frames, else (sum of the views' frames) x
 * fdim with the per-view counts in "counts" (views made by libavfilter may differ in length). */
static vi_status cache_load(const vi__trainer *t, const char *file, const char *key,
                            struct item *items) {
    uint8_t *data;
    size_t size;
    vi_status st = vi__read_file(file, &data, &size, CACHE_MAX_BYTES);
    if (st != VI_OK) return st;
    vi__doc *doc;
    st = vi__doc_parse(data, size, CACHE_MAGIC, VI_E_FORMAT, &doc);
    vi__free(data);
    if (st != VI_OK) return st;
    const int32_t views = t->o.views;
    const char *k = vi__doc_str(doc, "key");
    const vi__tensor *f = vi__doc_tensor(doc, "features");
    const vi__tensor *c = vi__doc_tensor(doc, "counts");
    int32_t counts[16];
    int64_t total = 0;
    int ok = k && strcmp(k, key) == 0 && f && f->dtype == VI__DT_F32 && views <= 16;
    if (ok && f->ndim == 3) {
        ok = f->dims[0] == views && f->dims[1] >= 1 && f->dims[1] <= t->o.max_frames &&
             f->dims[2] == t->fdim;
        for (int32_t v = 0; ok && v < views; v++) total += counts[v] = (int32_t)f->dims[1];
    } else if (ok && f->ndim == 2 && c && c->dtype == VI__DT_I64 && c->ndim == 1 &&
               c->dims[0] == views) {
        for (int32_t v = 0; ok && v < views; v++) {
            int64_t cv;
            memcpy(&cv, (const uint8_t *)c->data + (size_t)v * 8, 8);
            ok = cv >= 1 && cv <= t->o.max_frames;
            counts[v] = (int32_t)cv;
            total += cv;
        }
        ok = ok && f->dims[0] == total && f->dims[1] == t->fdim;
    } else {
        ok = 0;
    }
    if (!ok) {
        vi__doc_free(doc);
        return vi__fail(VI_E_FORMAT, "%s does not match", file);
    }
    float *all = vi__mallocarray((size_t)vi__tensor_numel(f), sizeof(float));
    if (all) vi__tensor_to_f32(f, all);
    vi__doc_free(doc);
    int32_t v = 0;
    size_t at = 0;
    for (; all && v < views; v++) {
        const size_t per = (size_t)counts[v] * t->fdim;
        items[v].n_frames = counts[v];
        items[v].feat = vi__mallocarray(per, sizeof(float));
        if (!items[v].feat) break;
        memcpy(items[v].feat, all + at, per * sizeof(float));
        at += per;
    }
    vi__free(all);
    if (v < views) {
        for (int32_t i = 0; i < v; i++) vi__free(items[i].feat);
        return vi__fail(VI_E_NOMEM, "out of memory reading %s", file);
    }
    return VI_OK;
}

/* Write the views' features; a failure only costs the cache (logged, not reported). */
static void cache_save(const vi__trainer *t, const char *file, const char *key,
                       const struct item *items) {
    const int32_t views = t->o.views;
    int64_t total = 0, counts[16];
    int same = 1;
    for (int32_t v = 0; v < views; v++) {
        total += counts[v] = items[v].n_frames;
        same = same && items[v].n_frames == items[0].n_frames;
    }
    float *all = vi__mallocarray((size_t)total * t->fdim, sizeof(float));
    vi__docw *w = all ? vi__docw_create() : NULL;
    vi_status st = w ? VI_OK : VI_E_NOMEM;
    if (st == VI_OK) {
        size_t at = 0;
        for (int32_t v = 0; v < views; v++) {
            const size_t per = (size_t)items[v].n_frames * t->fdim;
            memcpy(all + at, items[v].feat, per * sizeof(float));
            at += per;
        }
        vi__docw_str(w, "key", key);
        vi__tensor tn;
        memset(&tn, 0, sizeof tn);
        tn.name = "features";
        tn.dtype = VI__DT_F32;
        if (same) {
            tn.ndim = 3;
            tn.dims[0] = views;
            tn.dims[1] = items[0].n_frames;
            tn.dims[2] = t->fdim;
        } else {
            tn.ndim = 2;
            tn.dims[0] = total;
            tn.dims[1] = t->fdim;
        }
        tn.data = all;
        tn.nbytes = (size_t)total * t->fdim * sizeof(float);
        vi__docw_tensor(w, &tn);
        if (!same) {
            vi__tensor ct;
            memset(&ct, 0, sizeof ct);
            ct.name = "counts";
            ct.dtype = VI__DT_I64;
            ct.ndim = 1;
            ct.dims[0] = views;
            ct.data = counts;
            ct.nbytes = (size_t)views * sizeof(int64_t);
            vi__docw_tensor(w, &ct);
        }
        uint8_t *bytes;
        size_t size;
        st = vi__docw_finish(w, CACHE_MAGIC, &bytes, &size);
        if (st == VI_OK) {
            st = vi__write_file_atomic(file, bytes, size);
            vi__free(bytes);
        }
    } else {
        vi__docw_free(w);
    }
    vi__free(all);
    if (st != VI_OK) {
        vi__log(VI_LOG_WARN, "training: cannot write the feature cache %s: %s", file,
                vi_last_error());
        vi__clear_error();
    }
}

/* on_base_head: replace an item's frame features by the base head's output (linear, so the mean
 * of the outputs is the output of the mean). */
static vi_status pre_transform(const vi__trainer *t, struct item *it) {
    if (!t->pre_A) return VI_OK;
    float *out = vi__mallocarray((size_t)it->n_frames * t->pre_out, sizeof(float));
    if (!out) return vi__fail(VI_E_NOMEM, "out of memory");
    for (int32_t r = 0; r < it->n_frames; r++) {
        const float *x = it->feat + (size_t)r * t->fdim;
        for (int32_t i = 0; i < t->pre_out; i++) {
            const float *Ai = t->pre_A + (size_t)i * t->fdim;
            float acc = t->pre_b[i];
            for (int32_t c = 0; c < t->fdim; c++) acc += Ai[c] * x[c];
            out[(size_t)r * t->pre_out + i] = acc;
        }
    }
    vi__free(it->feat);
    it->feat = out;
    return VI_OK;
}

vi_status vi__trainer_add_video(vi__trainer *t, const char *path, int32_t group) {
    const int32_t views = t->o.views;
    const size_t fbytes = (size_t)t->size * t->size * 3;
    if (t->n_items + views > t->cap_items) {
        int32_t cap = t->cap_items ? t->cap_items * 2 : 64;
        while (cap < t->n_items + views) cap *= 2;
        struct item *ni = vi__realloc(t->items, (size_t)cap * sizeof *ni);
        if (!ni) return vi__fail(VI_E_NOMEM, "out of memory");
        t->items = ni;
        t->cap_items = cap;
    }
    /* a generator per video, so that a video's views do not depend on the videos before it
     * failing or not */
    const uint64_t rng_seed = t->o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)t->n_videos * 7919u + 1;
    struct item *mine = &t->items[t->n_items];
    char cache_file[4096], key[8192];
    int32_t n = 0;
    const int cached = cache_names(t, path, rng_seed, cache_file, sizeof cache_file, key,
                                   sizeof key);
    if (cached && cache_load(t, cache_file, key, mine) == VI_OK) {
        n = mine[0].n_frames;
        vi_status pst = VI_OK;
        for (int32_t v = 0; v < views; v++) {
            mine[v].video = t->n_videos;
            mine[v].group = group >= 0 ? group : -1 - (int64_t)t->n_videos;
            if (pst == VI_OK) pst = pre_transform(t, &mine[v]);
        }
        if (pst != VI_OK) {
            for (int32_t v = 0; v < views; v++) vi__free(mine[v].feat);
            return pst;
        }
        t->n_items += views;
        t->n_videos++;
        vi__log(VI_LOG_INFO, "training: %s: %d frames, %d views, from %s", path, n, views,
                cache_file);
        return VI_OK;
    }
    vi__clear_error(); /* a missing or stale cache file is not an error */
    uint8_t *frames;
    vi_status st = decode_all(t, path, &frames, &n);
    if (st != VI_OK) return st;
    uint8_t *scratch = vi__malloc(fbytes);
    if (!scratch) st = vi__fail(VI_E_NOMEM, "out of memory for a frame");
    vi__rng rng = {rng_seed};
    int32_t made = 0;
    for (int32_t v = 0; st == VI_OK && v < views; v++) {
        /* libavfilter's edits first (they may change the number of frames), then the pixel
         * operations */
        uint8_t *work = NULL;
        int32_t nv = n;
        if (v > 0 && t->o.filter_augment) {
            char graph[1024];
            vi__filter_draw(&rng, t->size, t->o.fps, n, graph, sizeof graph);
            st = vi__filter_apply(graph, frames, n, t->size, t->o.fps, &work, &nv);
            vi__log(VI_LOG_DEBUG, "training: %s: view %d: libavfilter graph %s: %d -> %d frames",
                    path, v, graph, n, st == VI_OK ? nv : 0);
            if (st != VI_OK) { /* the view keeps the pixel operations only */
                vi__log(VI_LOG_WARN, "training: %s: view %d: %s", path, v, vi_last_error());
                vi__clear_error();
                st = VI_OK;
                work = NULL;
                nv = n;
            } else if (nv > t->o.max_frames) { /* slowed down: back to max_frames, uniformly */
                const int32_t k = t->o.max_frames;
                for (int32_t i = 0; i < k; i++) {
                    const int32_t src = k > 1 ? (int32_t)((int64_t)i * (nv - 1) / (k - 1)) : 0;
                    if (src != i)
                        memmove(work + (size_t)i * fbytes, work + (size_t)src * fbytes, fbytes);
                }
                nv = k;
            }
        }
        if (!work) {
            work = vi__mallocarray((size_t)n, fbytes);
            if (!work) {
                st = vi__fail(VI_E_NOMEM, "out of memory for %d frames", n);
                break;
            }
            memcpy(work, frames, (size_t)n * fbytes);
        }
        if (v > 0) {
            vi__augment aug;
            vi__augment_draw(&rng, &aug);
            for (int32_t i = 0; i < nv; i++)
                vi__augment_apply(&aug, work + (size_t)i * fbytes, t->size, scratch, &rng);
        }
        float *feat = vi__mallocarray((size_t)nv * t->fdim, sizeof(float));
        if (!feat) {
            vi__free(work);
            st = vi__fail(VI_E_NOMEM, "out of memory for features");
            break;
        }
        st = vi__net_features(t->net, work, nv, t->size, feat);
        vi__free(work);
        if (st != VI_OK) {
            vi__free(feat);
            break;
        }
        struct item *it = &t->items[t->n_items + made++];
        it->video = t->n_videos;
        it->group = group >= 0 ? group : -1 - (int64_t)t->n_videos;
        it->n_frames = nv;
        it->feat = feat;
    }
    vi__free(scratch);
    vi__free(frames);
    if (st != VI_OK) { /* leave the trainer as it was */
        for (int32_t i = 0; i < made; i++) vi__free(t->items[t->n_items + i].feat);
        return st;
    }
    if (cached) cache_save(t, cache_file, key, mine);
    for (int32_t v = 0; v < made; v++) {
        st = pre_transform(t, &mine[v]);
        if (st != VI_OK) {
            for (int32_t i = 0; i < made; i++) vi__free(mine[i].feat);
            return st;
        }
    }
    t->n_items += made;
    t->n_videos++;
    vi__log(VI_LOG_INFO, "training: %s: %d frames, %d views", path, n, views);
    return VI_OK;
}

/* The video-level feature of an item, with the random-subset augmentation. */
static void item_feature(const vi__trainer *t, const struct item *it, vi__rng *rng, float *out,
                         int32_t *pick) {
    const int32_t T = it->n_frames, d = t->in;
    int32_t k = T;
    for (int32_t i = 0; i < T; i++) pick[i] = i;
    if (T > 10 && vi__rng_uniform(rng) < 0.5) {
        k = T < 15 ? 5 : T < 30 ? 10 : 15;
        for (int32_t i = 0; i < k; i++) { /* partial Fisher-Yates */
            int32_t j = i + vi__rng_below(rng, T - i);
            int32_t tmp = pick[i];
            pick[i] = pick[j];
            pick[j] = tmp;
        }
    }
    memset(out, 0, (size_t)d * sizeof(float));
    for (int32_t i = 0; i < k; i++) {
        const float *f = it->feat + (size_t)pick[i] * d;
        for (int32_t c = 0; c < d; c++) out[c] += f[c];
    }
    const float inv = 1.0f / (float)k;
    for (int32_t c = 0; c < d; c++) out[c] *= inv;
}

struct group {
    int64_t key;
    int32_t first, count; /* a run in `order` */
};

static int cmp_group_key(const void *a, const void *b, void *items) {
    const struct item *it = items;
    const int32_t ia = *(const int32_t *)a, ib = *(const int32_t *)b;
    if (it[ia].group != it[ib].group) return it[ia].group < it[ib].group ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

vi_status vi__trainer_run(vi__trainer *t, int32_t epochs, vi_train_epoch_fn fn, void *user) {
    if (t->n_videos == 0)
        return vi__fail(VI_E_INVALID_ARG, "no videos to train on: add some with "
                        "vi_trainer_add_video first");
    /* items sorted by group, and the groups that can give a positive pair */
    const int32_t n = t->n_items;
    int32_t *order = vi__mallocarray((size_t)n, sizeof(int32_t));
    struct group *groups = vi__mallocarray((size_t)n, sizeof *groups);
    struct group *sorted = vi__mallocarray((size_t)n, sizeof *sorted);
    int32_t *negs = vi__mallocarray((size_t)n, sizeof(int32_t));
    int64_t *chosen = vi__mallocarray((size_t)n, sizeof(int64_t));
    int32_t max_t = 1;
    for (int32_t i = 0; i < n; i++)
        if (t->items[i].n_frames > max_t) max_t = t->items[i].n_frames;
    int32_t *pick = vi__mallocarray((size_t)max_t, sizeof(int32_t));
    const int32_t B_cap = t->o.batch_pairs, M_cap = t->o.max_negatives;
    const size_t d = (size_t)t->in;
    float *xa = vi__mallocarray((size_t)B_cap * d, sizeof(float));
    float *xp = vi__mallocarray((size_t)B_cap * d, sizeof(float));
    float *xn = vi__mallocarray((size_t)(M_cap > 0 ? M_cap : 1) * d, sizeof(float));
    vi_status st = VI_OK;
    if (!order || !groups || !sorted || !negs || !chosen || !pick || !xa || !xp || !xn) {
        st = vi__fail(VI_E_NOMEM, "out of memory for %d cached views", n);
        goto done;
    }
    for (int32_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_group_key, t->items);
    int32_t n_groups = 0, n_usable = 0;
    for (int32_t i = 0; i < n; i++) {
        if (n_groups == 0 || groups[n_groups - 1].key != t->items[order[i]].group)
            groups[n_groups++] = (struct group){t->items[order[i]].group, i, 0};
        groups[n_groups - 1].count++;
    }
    for (int32_t g = 0; g < n_groups; g++)
        if (groups[g].count >= 2) groups[n_usable++] = groups[g];
    memcpy(sorted, groups, (size_t)n_usable * sizeof *groups);
    if (n_usable == 0) {
        st = vi__fail(VI_E_INVALID_ARG, "nothing to train on: no group has two views (use "
                      "views >= 2 or label at least two videos with the same group)");
        goto done;
    }

    /* at most half the groups in a batch, so that the views of the other half are negatives
     * (on small data, all groups would otherwise fit in one batch and leave none) */
    int32_t B_step = (n_usable + 1) / 2;
    if (B_step > B_cap) B_step = B_cap;
    if (B_step < 1) B_step = 1;
    for (int32_t e = 0; e < epochs && st == VI_OK; e++) {
        vi_train_losses L;
        memset(&L, 0, sizeof L);
        if (t->o.lr_step_epochs > 0 && t->epochs_done >= t->o.lr_step_epochs) {
            st = vi__dmi_set_lr(t->dmi, 0.1 * t->o.learning_rate);
            if (st != VI_OK) break;
        }
        /* shuffle the groups, from the same order every epoch: an epoch depends only on the
         * generator's state, which a checkpoint keeps */
        memcpy(groups, sorted, (size_t)n_usable * sizeof *groups);
        for (int32_t g = n_usable - 1; g > 0; g--) {
            int32_t j = vi__rng_below(&t->rng, g + 1);
            struct group tmp = groups[g];
            groups[g] = groups[j];
            groups[j] = tmp;
        }
        for (int32_t start = 0; start < n_usable && st == VI_OK; start += B_step) {
            const int32_t B = n_usable - start < B_step ? n_usable - start : B_step;
            for (int32_t b = 0; b < B; b++) {
                const struct group *gr = &groups[start + b];
                const int32_t ia = order[gr->first + vi__rng_below(&t->rng, gr->count)];
                /* positive: another video of the group if there is one, else another view */
                int32_t n_other = 0;
                for (int32_t i = 0; i < gr->count; i++)
                    if (t->items[order[gr->first + i]].video != t->items[ia].video) n_other++;
                int32_t ip = ia;
                if (n_other > 0) {
                    int32_t r = vi__rng_below(&t->rng, n_other);
                    for (int32_t i = 0; i < gr->count; i++) {
                        const int32_t c = order[gr->first + i];
                        if (t->items[c].video != t->items[ia].video && r-- == 0) {
                            ip = c;
                            break;
                        }
                    }
                } else {
                    int32_t r = vi__rng_below(&t->rng, gr->count - 1);
                    for (int32_t i = 0; i < gr->count; i++) {
                        const int32_t c = order[gr->first + i];
                        if (c != ia && r-- == 0) {
                            ip = c;
                            break;
                        }
                    }
                }
                chosen[b] = gr->key;
                item_feature(t, &t->items[ia], &t->rng, xa + (size_t)b * d, pick);
                item_feature(t, &t->items[ip], &t->rng, xp + (size_t)b * d, pick);
            }
            /* negatives: the items of every group not in the batch */
            int32_t M = 0;
            for (int32_t i = 0; i < n; i++) {
                int in_batch = 0;
                for (int32_t b = 0; b < B && !in_batch; b++)
                    in_batch = t->items[i].group == chosen[b];
                if (!in_batch) negs[M++] = i;
            }
            if (M > M_cap) {
                for (int32_t i = 0; i < M_cap; i++) {
                    int32_t j = i + vi__rng_below(&t->rng, M - i);
                    int32_t tmp = negs[i];
                    negs[i] = negs[j];
                    negs[j] = tmp;
                }
                M = M_cap;
            }
            for (int32_t i = 0; i < M; i++)
                item_feature(t, &t->items[negs[i]], &t->rng, xn + (size_t)i * d, pick);
            vi__dmi_terms terms;
            st = vi__dmi_step(t->dmi, xa, xp, B, M > 0 ? xn : NULL, M, &terms);
            if (st != VI_OK) break;
            L.total += terms.total;
            L.nce += terms.nce;
            L.exclusivity += terms.d_pair + terms.d_neg;
            L.mutual_info += terms.m_pair + terms.m_neg;
            L.steps++;
        }
        if (st != VI_OK) break;
        L.total /= L.steps;
        L.nce /= L.steps;
        L.exclusivity /= L.steps;
        L.mutual_info /= L.steps;
        t->epochs_done++;
        vi__log(VI_LOG_INFO, "training: epoch %d: loss %.4f (nce %.4f, D %.4f, M %.4f), %d steps",
                t->epochs_done, L.total, L.nce, L.exclusivity, L.mutual_info, L.steps);
        if (t->checkpoint) {
            st = vi__trainer_save_checkpoint(t, t->checkpoint);
            if (st != VI_OK) break;
        }
        if (fn && fn(user, t->epochs_done, &L) != 0)
            st = vi__fail(VI_E_CANCELLED, "training cancelled by the callback after epoch %d",
                          t->epochs_done);
    }
done:
    vi__free(order);
    vi__free(groups);
    vi__free(sorted);
    vi__free(negs);
    vi__free(chosen);
    vi__free(pick);
    vi__free(xa);
    vi__free(xp);
    vi__free(xn);
    return st;
}

/* Append a float32 tensor of the head. */
static void put_f32(vi__docw *w, const char *name, const float *data, int32_t ndim, int64_t d0,
                    int64_t d1) {
    vi__tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = VI__DT_F32;
    t.ndim = ndim;
    t.dims[0] = d0;
    t.dims[1] = d1;
    t.data = data;
    t.nbytes = (size_t)(ndim == 2 ? d0 * d1 : d0) * sizeof(float);
    vi__docw_tensor(w, &t);
}

vi_status vi__trainer_save(const vi__trainer *t, const char *path) {
    vi__model_file *mf;
    vi_status st = vi__model_file_parse(t->base, t->base_size, &mf);
    if (st != VI_OK) return st;
    float *W[VI__DMI_LAYERS] = {0}, *b[VI__DMI_LAYERS] = {0};
    const char *base_name = mf->meta.name;
    char name[300], desc[1400];
    snprintf(name, sizeof name, "%.200s-dmi", base_name);
    snprintf(desc, sizeof desc,
             "Backbone of '%.100s' (frozen) + DMI head (6 x %d sub-feature heads, auxiliary head, "
             "fusion) trained by vi_trainer: %d videos, %d cached views, %d epochs, seed %llu, "
             "Adam lr %g wd %g (x0.1 after epoch %d), %d pairs and up to %d negatives a step, "
             "loss weights D %g M %g%s%s",
             base_name, OUT_DIM, t->n_videos, t->n_items, t->epochs_done,
             (unsigned long long)t->o.seed, (double)t->o.learning_rate,
             (double)t->o.weight_decay, t->o.lr_step_epochs, t->o.batch_pairs,
             t->o.max_negatives, (double)t->o.exclusivity_weight, (double)t->o.mi_weight,
             t->o.single_head ? ", single head (InfoNCE only)" : "",
             t->o.on_base_head ? ", on the base model's head (folded in)" : "");
    mf->meta.name = name;
    mf->meta.description = desc;
    vi__model_file_clear_head(mf); /* a new head: nothing fitted on the old one survives */
    for (int32_t l = 0; l < VI__DMI_LAYERS && st == VI_OK; l++) {
        const int32_t fan = l == VI__DMI_FUSE ? VI__DMI_SUBS * OUT_DIM : t->in;
        const int32_t fan_out = l == VI__DMI_FUSE ? fan : t->fdim; /* in the file */
        W[l] = vi__mallocarray((size_t)OUT_DIM * fan, sizeof(float));
        b[l] = vi__mallocarray(OUT_DIM, sizeof(float));
        st = W[l] && b[l] ? vi__dmi_get(t->dmi, l, W[l], b[l])
                          : vi__fail(VI_E_NOMEM, "out of memory");
        if (st != VI_OK) break;
        if (t->pre_A && l != VI__DMI_FUSE) {
            /* on_base_head: the layers on x are folded with the fixed first layer, W' = W A0
             * and b' = W b0 + b, so that the file holds an ordinary head on the backbone
             * features */
            float *Wf = vi__mallocarray((size_t)OUT_DIM * t->fdim, sizeof(float));
            if (!Wf) {
                st = vi__fail(VI_E_NOMEM, "out of memory");
                break;
            }
            for (int32_t i = 0; i < OUT_DIM; i++) {
                float *o = Wf + (size_t)i * t->fdim;
                double acc = b[l][i];
                memset(o, 0, (size_t)t->fdim * sizeof(float));
                for (int32_t j = 0; j < t->pre_out; j++) {
                    const float wij = W[l][(size_t)i * t->pre_out + j];
                    const float *a0 = t->pre_A + (size_t)j * t->fdim;
                    for (int32_t c = 0; c < t->fdim; c++) o[c] += wij * a0[c];
                    acc += (double)wij * t->pre_b[j];
                }
                b[l][i] = (float)acc;
            }
            vi__free(W[l]);
            W[l] = Wf;
        }
        vi__model_file_set_head_layer(mf, l, W[l], b[l], OUT_DIM, fan_out);
    }
    if (st == VI_OK) st = vi__model_file_save(mf, path);
    for (int32_t l = 0; l < VI__DMI_LAYERS; l++) {
        vi__free(W[l]);
        vi__free(b[l]);
    }
    vi__model_file_free(mf);
    return st;
}

int32_t vi__trainer_epochs_done(const vi__trainer *t) { return t->epochs_done; }

/* What a checkpoint belongs to: the base model, every option that shapes the views, the batches
 * or the losses, and the cached views themselves (counts). */
static void checkpoint_key(const vi__trainer *t, char *key, size_t size) {
    int64_t frames = 0;
    for (int32_t i = 0; i < t->n_items; i++) frames += t->items[i].n_frames;
    const vi_train_options *o = &t->o;
    snprintf(key, size,
             "vickpt1|model %08x|dims %d>%d>%d|videos %d|views %d|frames %lld|seed %llu|fps %g|"
             "max_frames %d|batch %d|negatives %d|lr %g|wd %g|lr_step %d|D %g|M %g|single %d|"
             "on_base_head %d",
             t->base_crc, t->fdim, t->in, OUT_DIM, t->n_videos, t->n_items, (long long)frames,
             (unsigned long long)o->seed, (double)o->fps, o->max_frames, o->batch_pairs,
             o->max_negatives, (double)o->learning_rate, (double)o->weight_decay,
             o->lr_step_epochs, (double)o->exclusivity_weight, (double)o->mi_weight,
             o->single_head, o->on_base_head);
}

static int64_t layer_fan_in(const vi__trainer *t, int32_t l) {
    return l == VI__DMI_FUSE ? 6 * OUT_DIM : t->in;
}

vi_status vi__trainer_save_checkpoint(const vi__trainer *t, const char *path) {
    const size_t wmax = (size_t)OUT_DIM * (t->in > 6 * OUT_DIM ? t->in : 6 * OUT_DIM);
    float *buf[3] = {vi__mallocarray(wmax, sizeof(float)), vi__mallocarray(wmax, sizeof(float)),
                     vi__mallocarray(wmax, sizeof(float))};
    vi__docw *w = vi__docw_create();
    vi_status st = w && buf[0] && buf[1] && buf[2] ? VI_OK : vi__fail(VI_E_NOMEM, "out of memory");
    int64_t steps[2 * VI__DMI_LAYERS];
    if (st == VI_OK) {
        char key[1024];
        checkpoint_key(t, key, sizeof key);
        vi__docw_str(w, "key", key);
        vi__docw_i64(w, "epochs_done", t->epochs_done);
        vi__docw_i64(w, "rng", (int64_t)t->rng.s);
    }
    for (int32_t l = 0; st == VI_OK && l < VI__DMI_LAYERS; l++) {
        for (int bias = 0; st == VI_OK && bias < 2; bias++) {
            const int64_t d1 = bias ? 0 : layer_fan_in(t, l);
            const size_t numel = (size_t)OUT_DIM * (bias ? 1 : (size_t)d1);
            st = bias ? vi__dmi_get(t->dmi, l, NULL, buf[0]) : vi__dmi_get(t->dmi, l, buf[0], NULL);
            if (st != VI_OK) break;
            memset(buf[1], 0, numel * sizeof(float));
            memset(buf[2], 0, numel * sizeof(float));
            st = vi__dmi_adam_get(t->dmi, l, bias, &steps[2 * l + bias], buf[1], buf[2]);
            static const char *const part[3] = {"value", "adam_m", "adam_v"};
            for (int k = 0; st == VI_OK && k < 3; k++) {
                char name[64];
                snprintf(name, sizeof name, "layer%d.%s.%s", l, bias ? "bias" : "weight", part[k]);
                put_f32(w, name, buf[k], bias ? 1 : 2, OUT_DIM, d1);
            }
        }
    }
    if (st == VI_OK) {
        vi__tensor tn;
        memset(&tn, 0, sizeof tn);
        tn.name = "adam_steps";
        tn.dtype = VI__DT_I64;
        tn.ndim = 1;
        tn.dims[0] = 2 * VI__DMI_LAYERS;
        tn.data = steps;
        tn.nbytes = sizeof steps;
        vi__docw_tensor(w, &tn);
    }
    for (int k = 0; k < 3; k++) vi__free(buf[k]);
    if (st != VI_OK) {
        vi__docw_free(w);
        return st;
    }
    uint8_t *bytes;
    size_t size;
    st = vi__docw_finish(w, CKPT_MAGIC, &bytes, &size);
    if (st != VI_OK) return st;
    st = vi__write_file_atomic(path, bytes, size);
    vi__free(bytes);
    if (st != VI_OK && !strstr(vi_last_error(), path))
        vi__error_prefix("writing the checkpoint %s", path);
    return st;
}

vi_status vi__trainer_load_checkpoint(vi__trainer *t, const char *path) {
    uint8_t *data;
    size_t size;
    vi_status st = vi__read_file(path, &data, &size, CACHE_MAX_BYTES);
    if (st != VI_OK) return st;
    vi__doc *doc;
    st = vi__doc_parse(data, size, CKPT_MAGIC, VI_E_FORMAT, &doc);
    vi__free(data);
    if (st != VI_OK) {
        vi__error_prefix("%s is not a usable training checkpoint", path);
        return st;
    }
    char key[1024];
    checkpoint_key(t, key, sizeof key);
    const char *k = vi__doc_str(doc, "key");
    int64_t epochs, rng;
    const vi__tensor *steps = vi__doc_tensor(doc, "adam_steps");
    if (!k || !vi__doc_i64(doc, "epochs_done", &epochs) || !vi__doc_i64(doc, "rng", &rng) ||
        !steps || steps->dtype != VI__DT_I64 || steps->ndim != 1 ||
        steps->dims[0] != 2 * VI__DMI_LAYERS || epochs < 0 || epochs > 0x7fffffff) {
        vi__doc_free(doc);
        return vi__fail(VI_E_FORMAT, "%s is not a usable training checkpoint: entries are "
                        "missing or malformed", path);
    }
    if (strcmp(k, key) != 0) {
        st = vi__fail(VI_E_INVALID_ARG, "%s belongs to another training run (same base model, "
                      "options and videos are needed): it has '%s', this run '%s'", path, k, key);
        vi__doc_free(doc);
        return st;
    }
    int64_t step_v[2 * VI__DMI_LAYERS];
    memcpy(step_v, steps->data, sizeof step_v);
    const size_t wmax = (size_t)OUT_DIM * (t->in > 6 * OUT_DIM ? t->in : 6 * OUT_DIM);
    float *buf[3] = {vi__mallocarray(wmax, sizeof(float)), vi__mallocarray(wmax, sizeof(float)),
                     vi__mallocarray(wmax, sizeof(float))};
    if (!buf[0] || !buf[1] || !buf[2]) st = vi__fail(VI_E_NOMEM, "out of memory");
    /* check every tensor before changing anything */
    static const char *const part[3] = {"value", "adam_m", "adam_v"};
    const vi__tensor *tn[VI__DMI_LAYERS][2][3];
    for (int32_t l = 0; st == VI_OK && l < VI__DMI_LAYERS; l++)
        for (int bias = 0; st == VI_OK && bias < 2; bias++)
            for (int p = 0; st == VI_OK && p < 3; p++) {
                char name[64];
                snprintf(name, sizeof name, "layer%d.%s.%s", l, bias ? "bias" : "weight", part[p]);
                const vi__tensor *x = tn[l][bias][p] = vi__doc_tensor(doc, name);
                const int ok = x && x->dtype == VI__DT_F32 && x->ndim == (bias ? 1 : 2) &&
                               x->dims[0] == OUT_DIM &&
                               (bias || x->dims[1] == layer_fan_in(t, l));
                if (!ok)
                    st = vi__fail(VI_E_FORMAT, "%s is not a usable training checkpoint: tensor "
                                  "'%s' is missing or has the wrong shape", path, name);
            }
    for (int32_t l = 0; st == VI_OK && l < VI__DMI_LAYERS; l++)
        for (int bias = 0; st == VI_OK && bias < 2; bias++) {
            for (int p = 0; p < 3; p++) vi__tensor_to_f32(tn[l][bias][p], buf[p]);
            st = bias ? vi__dmi_set(t->dmi, l, NULL, buf[0]) : vi__dmi_set(t->dmi, l, buf[0], NULL);
            if (st == VI_OK)
                st = vi__dmi_adam_set(t->dmi, l, bias, step_v[2 * l + bias], buf[1], buf[2]);
        }
    for (int p = 0; p < 3; p++) vi__free(buf[p]);
    vi__doc_free(doc);
    if (st == VI_OK) {
        t->epochs_done = (int32_t)epochs;
        t->rng.s = (uint64_t)rng;
    }
    return st;
}
