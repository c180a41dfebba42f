/* bench/index_real.c - the index's accuracy on real embeddings: the benchmark dataset's
 * references (bench/work/ds, made by `make bench`) embedded with the built-in model, searched
 * with each query that copies one of them (docs/benchmarks.md, "Index at scale").
 *
 *   make BUILD=build bench-index-real
 *
 * Reads lines "ref ID PATH" and "query ID PATH REF_ID" on stdin (bench.mk makes them from the
 * dataset's manifest.json). Prints, per search configuration, hit@1 (the copied reference ranked
 * first) and hit@candidates (it survived stage 1), and the cost of float16 storage: the largest
 * and mean difference between a hit's score and vi_compare on the float32 embeddings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vinfringe.h"

#define MAX_ITEMS 4096

struct item {
    char id[64], ref[64];
    vi_embedding *e;
};

static vi_embedding *find(struct item *it, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (strcmp(it[i].id, id) == 0) return it[i].e;
    return NULL;
}

int main(void) {
    static struct item refs[MAX_ITEMS], queries[MAX_ITEMS];
    int nr = 0, nq = 0;
    char kind[16], id[64], path[4096], ref[64];
    vi_model *m;
    if (vi_model_load(NULL, &m) != VI_OK) return fprintf(stderr, "%s\n", vi_last_error()), 1;
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        ref[0] = '\0';
        if (sscanf(line, "%15s %63s %4095s %63s", kind, id, path, ref) < 3) continue;
        struct item *it = strcmp(kind, "ref") == 0 ? &refs[nr] : &queries[nq];
        if ((strcmp(kind, "ref") == 0 ? nr : nq) >= MAX_ITEMS) continue;
        if (vi_embed_video(m, path, NULL, &it->e) != VI_OK) {
            fprintf(stderr, "skipping %s: %s\n", path, vi_last_error());
            continue;
        }
        snprintf(it->id, sizeof it->id, "%s", id);
        snprintf(it->ref, sizeof it->ref, "%s", ref);
        if (strcmp(kind, "ref") == 0) nr++;
        else nq++;
    }
    fprintf(stderr, "%d references, %d queries embedded\n", nr, nq);
    struct { int32_t kind, candidates; const char *name; } cfg[] = {
        {VI_INDEX_EXACT, 100000, "every reference compared (no stage 1)"},
        {VI_INDEX_EXACT, 10, "exact, 10 candidates"},
        {VI_INDEX_EXACT, 5, "exact, 5 candidates"},
        {VI_INDEX_EXACT, 3, "exact, 3 candidates"},
        {VI_INDEX_EXACT, 1, "exact, 1 candidate"},
        {VI_INDEX_HNSW, 5, "hnsw, 5 candidates"},
        {VI_INDEX_HNSW, 1, "hnsw, 1 candidate"},
    };
    printf("| search | hit@1 | copied reference among the candidates | max / mean |score - "
           "vi_compare| |\n|---|---|---|---|\n");
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        vi_index_options o;
        VI_INDEX_OPTIONS_INIT(o);
        o.kind = cfg[c].kind;
        o.candidates = cfg[c].candidates;
        vi_index *x;
        if (vi_index_create_with(&o, &x) != VI_OK) return 1;
        for (int i = 0; i < nr; i++)
            if (vi_index_add(x, refs[i].id, refs[i].e) != VI_OK)
                return fprintf(stderr, "%s\n", vi_last_error()), 1;
        int pos = 0, hit1 = 0, hitc = 0;
        double max_d = 0, sum_d = 0;
        for (int q = 0; q < nq; q++) {
            const vi_embedding *r = find(refs, nr, queries[q].ref);
            if (!r) continue;
            pos++;
            vi_hits *h;
            if (vi_index_search(x, queries[q].e, cfg[c].candidates < nr ? cfg[c].candidates : nr,
                                &h) != VI_OK)
                return fprintf(stderr, "%s\n", vi_last_error()), 1;
            for (int32_t i = 0; i < vi_hits_count(h); i++) {
                if (strcmp(vi_hits_id(h, i), queries[q].ref) != 0) continue;
                hitc++;
                hit1 += i == 0;
                vi_match *mt;
                vi_compare(queries[q].e, r, NULL, &mt);
                const double d = fabs((double)vi_hits_score(h, i) - vi_match_score(mt));
                max_d = d > max_d ? d : max_d;
                sum_d += d;
                vi_match_free(mt);
            }
            vi_hits_free(h);
        }
        printf("| %s | %d/%d | %d/%d | %.5f / %.5f |\n", cfg[c].name, hit1, pos, hitc, pos, max_d,
               hitc ? sum_d / hitc : 0.0);
        vi_index_free(x);
    }
    for (int i = 0; i < nr; i++) vi_embedding_free(refs[i].e);
    for (int i = 0; i < nq; i++) vi_embedding_free(queries[i].e);
    vi_model_free(m);
    return 0;
}
