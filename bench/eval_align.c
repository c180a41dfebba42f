/* Fast evaluation loop of lib/compare (bench/eval_align.py builds and drives it): compares
 * (query, reference) pairs of cached .vemb files with vi__compare and prints one JSON line per
 * pair, so an aligner change is measured in seconds without re-embedding any video.
 *
 *   eval_align EMB_DIR [matrix] < pairs        (each line of `pairs`: QUERY_ID REF_ID [L])
 *
 * Environment: VI_EVAL_HOUGH=1 uses the Hough aligner, VI_EVAL_NOREFINE=1 skips the refinement.
 * With `matrix`, prints each pair's frame cosine matrix (x100) instead; a line "ID dump" then
 * writes EMB_DIR/ID.f32 (floats: n_frames, dim, duration, n_frames times, the frame rows).
 * L = 1 asks for localisation (the default), 0 for the video-level score alone. Files are
 * EMB_DIR/<id>.vemb, each loaded once. Output: {"q", "r", "score", "vcos", "speed", "segs":
 * [[qs, qe, rs, re, score], ...]}. Built against the library's sources (not its exported API)
 * because vi__compare is internal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/objects.h"
#include "compare/align.h"
#include "compare/compare.h"
#include "vinfringe.h"

#define MAX_FILES 4096

static char *names[MAX_FILES];
static vi_embedding *embs[MAX_FILES];
static int n_files;

static vi_embedding *get(const char *dir, const char *id) {
    for (int i = 0; i < n_files; i++)
        if (strcmp(names[i], id) == 0) return embs[i];
    if (n_files == MAX_FILES) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.vemb", dir, id);
    vi_embedding *e = NULL;
    if (vi_embedding_load(path, &e) != VI_OK) {
        fprintf(stderr, "eval_align: %s: %s\n", path, vi_last_error());
        return NULL;
    }
    names[n_files] = strdup(id);
    embs[n_files++] = e;
    return e;
}

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "matrix") == 0)) {
        fprintf(stderr, "usage: eval_align EMB_DIR [matrix] < pairs\n");
        return 2;
    }
    const int matrix = argc == 3;
    /* Variants without rebuilding: VI_EVAL_HOUGH=1 (the other aligner), VI_EVAL_NOREFINE=1. */
    struct vi_align_params par = vi__align_params_default();
    if (getenv("VI_EVAL_HOUGH")) par.method = VI_ALIGN_HOUGH;
    if (getenv("VI_EVAL_NOREFINE")) par.refine = 0;
    char line[1024], qid[256], rid[256];
    while (fgets(line, sizeof line, stdin)) {
        int loc = 1;
        int n = sscanf(line, "%255s %255s %d", qid, rid, &loc);
        if (n < 2) continue;
        const int dump = matrix && strcmp(rid, "dump") == 0;
        vi_embedding *q = get(argv[1], qid), *r = dump ? q : get(argv[1], rid);
        if (!q || !r) return 1;
        if (dump) { /* raw frames for numpy: n, dim, times, rows */
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.f32", argv[1], qid);
            FILE *f = fopen(path, "wb");
            if (!f) return 1;
            float hdr[3] = {(float)q->n_frames, (float)q->dim, (float)q->duration};
            fwrite(hdr, sizeof(float), 3, f);
            for (int32_t i = 0; i < q->n_frames; i++) {
                float t = (float)(q->pts_us[i] / 1e6);
                fwrite(&t, sizeof t, 1, f);
            }
            fwrite(q->frames, sizeof(float), (size_t)q->n_frames * q->dim, f);
            fclose(f);
            continue;
        }
        if (matrix) { /* the frame cosines, one query frame a line, for reading by eye */
            printf("%s x %s\n", qid, rid);
            for (int32_t i = 0; i < q->n_frames; i++) {
                printf("%6.2f |", q->pts_us[i] / 1e6);
                for (int32_t j = 0; j < r->n_frames; j++)
                    printf(" %3d", (int)(100 * vi__dot(q->frames + (size_t)i * q->dim,
                                                       r->frames + (size_t)j * r->dim, q->dim)));
                printf("\n");
            }
            continue;
        }
        struct vi_match *m = NULL;
        if (vi__compare_params(q, r, loc, &par, &m) != VI_OK) {
            fprintf(stderr, "eval_align: %s vs %s: %s\n", qid, rid, vi_last_error());
            return 1;
        }
        printf("{\"q\": \"%s\", \"r\": \"%s\", \"score\": %.9g, \"vcos\": %.6g, \"speed\": %.4g, "
               "\"segs\": [", qid, rid, m->score, m->video_similarity, m->speed_ratio);
        for (int32_t k = 0; k < m->n_segments; k++) {
            const vi_segment *s = &m->segments[k];
            printf("%s[%.3f, %.3f, %.3f, %.3f, %.4f]", k ? ", " : "", s->query_start,
                   s->query_end, s->ref_start, s->ref_end, s->score);
        }
        printf("], \"logit\": %.6g, \"calibrated\": %d, \"threshold\": %.6g", m->logit,
               m->calibrated, m->threshold);
        if (m->calibrated) /* what a search combines with the other references' logits */
            printf(", \"calibration\": [%.9g, %.9g, %.9g, %.9g]", q->calib.search_w[0],
                   q->calib.search_w[1], q->calib.search_w[2], q->calib.logit_none);
        printf("}\n");
        vi_match_free(m);
    }
    for (int i = 0; i < n_files; i++) {
        vi_embedding_free(embs[i]);
        free(names[i]);
    }
    return 0;
}
