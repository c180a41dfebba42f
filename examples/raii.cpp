// raii.cpp - libvinfringe from C++17: each handle owned by a std::unique_ptr with the matching
// vi_*_free as deleter, failures turned into exceptions. Builds an index of the reference videos
// and searches it with the query.
//
//   c++ -std=c++17 raii.cpp $(pkg-config --cflags --libs vinfringe) -o raii
//   ./raii QUERY REFERENCE...
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include <vinfringe.h>

namespace vi {

// unique_ptr<vi_model> etc. that call the right free function; no free() and no leak on throw.
template <typename T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Model = std::unique_ptr<vi_model, Deleter<vi_model, vi_model_free>>;
using Embedding = std::unique_ptr<vi_embedding, Deleter<vi_embedding, vi_embedding_free>>;
using Index = std::unique_ptr<vi_index, Deleter<vi_index, vi_index_free>>;
using Hits = std::unique_ptr<vi_hits, Deleter<vi_hits, vi_hits_free>>;

// The library never throws; the wrapper does, with the library's message.
struct Error : std::runtime_error {
    vi_status status;
    Error(vi_status st, const std::string &what) : std::runtime_error(what), status(st) {}
};
inline void check(vi_status st) {
    if (st != VI_OK) throw Error(st, std::string(vi_status_str(st)) + ": " + vi_last_error());
}

inline Model load_model(const char *path = nullptr) {
    vi_model *m = nullptr;
    check(vi_model_load(path, &m));
    return Model(m);
}
inline Embedding embed(const Model &model, const std::string &path) {
    vi_embedding *e = nullptr;
    check(vi_embed_video(model.get(), path.c_str(), nullptr, &e));
    return Embedding(e);
}
inline Index make_index() {
    vi_index *ix = nullptr;
    check(vi_index_create(&ix));
    return Index(ix);
}
inline Hits search(const Index &ix, const Embedding &query, int32_t k) {
    vi_hits *h = nullptr;
    check(vi_index_search(ix.get(), query.get(), k, &h));
    return Hits(h);
}

} // namespace vi

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s QUERY REFERENCE...\n", argv[0]);
        return 2;
    }
    try {
        vi::Model model = vi::load_model(); // built-in model
        vi::Index index = vi::make_index();
        for (int i = 2; i < argc; i++) {
            vi::Embedding ref = vi::embed(model, argv[i]);
            vi::check(vi_index_add(index.get(), argv[i], ref.get())); // the index copies it
        }                                                              // ref freed here
        vi::Embedding query = vi::embed(model, argv[1]);
        vi::Hits hits = vi::search(index, query, 5);
        std::printf("%s, best matches first:\n", argv[1]);
        for (int32_t i = 0; i < vi_hits_count(hits.get()); i++) {
            const vi_match *m = vi_hits_match(hits.get(), i); // borrowed from hits
            std::printf("  %.4f  %-40s  %d copied segment(s)\n", vi_hits_score(hits.get(), i),
                        vi_hits_id(hits.get(), i), vi_match_segment_count(m));
        }
    } catch (const vi::Error &e) { // every handle created so far is already freed
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
