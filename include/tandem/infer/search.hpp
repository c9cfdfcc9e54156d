// Search over embeddings as sentence-transformers' util functions do it: semantic_search
// (each query's top_k corpus entries by cosine or dot score, the corpus a chunk at a time,
// from memory or streamed from a .npy file) and paraphrase_mining (the best-scoring pairs
// within one set of embeddings, or of sentences a model encodes).
// reference: sentence_transformers.util.retrieval.semantic_search, paraphrase_mining_embeddings
// and paraphrase_mining (sentence-transformers 6.3).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/eval/metrics.hpp>
#include <tandem/io/npy.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

namespace tandem {

// The keyword arguments of semantic_search after its embeddings, under their Python names
// and defaults. Results never depend on the chunk sizes. corpus_chunk_size bounds the corpus
// rows held in double (read from the file, when streaming) at once; query_chunk_size, which
// bounds Python's [queries, corpus] score block, changes nothing here, where no block exists.
struct SemanticSearchOptions {
    std::size_t query_chunk_size = 100;
    std::size_t corpus_chunk_size = 500000;
    std::size_t top_k = 10;
    // "cosine" (cos_sim) or "dot" (dot_score).
    std::string score_function = "cosine";
};

// One entry of a query's results: {"corpus_id": ..., "score": ...}.
struct SearchHit {
    std::size_t corpus_id;
    double score;
    bool operator==(const SearchHit&) const = default;
};

// The keyword arguments of paraphrase_mining_embeddings, under their Python names and defaults.
// query_chunk_size bounds the rows whose candidates are held at once; corpus_chunk_size, which
// bounds Python's score block, changes nothing here. Neither changes the result.
struct ParaphraseMiningOptions {
    std::size_t query_chunk_size = 5000;
    std::size_t corpus_chunk_size = 100000;
    std::size_t max_pairs = 500000;
    std::size_t top_k = 100;
    std::string score_function = "cosine";
};

// One mined pair [score, i, j], i < j.
struct ParaphrasePair {
    double score;
    std::size_t i;
    std::size_t j;
    bool operator==(const ParaphrasePair&) const = default;
};

namespace detail {

// Python keeps each query's hits in a heap of (score, corpus_id) tuples, so among equal
// scores the larger corpus id outranks the smaller; tandem ranks every candidate by that
// tuple, which makes the results independent of chunking and of torch.topk's unspecified
// order among ties. Python lists tied hits in heap order; tandem lists them by that rank.
inline bool ranks_before(const SearchHit& a, const SearchHit& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.corpus_id > b.corpus_id;
}

// The k best hits offered so far, the worst on top of the heap so a better one replaces it.
class BoundedTopK {
public:
    explicit BoundedTopK(std::size_t k) : k_(k) {}

    void offer(const SearchHit& hit) {
        if (heap_.size() < k_) {
            heap_.push_back(hit);
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        } else if (ranks_before(hit, heap_.front())) {
            std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
            heap_.back() = hit;
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        }
    }

    // Best first.
    std::vector<SearchHit> take_sorted() {
        std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
        return std::move(heap_);
    }

private:
    std::size_t k_;
    std::vector<SearchHit> heap_;
};

inline eval::Similarity search_score_function(const std::string& name, const std::string& owner) {
    const auto fn = eval::similarity_from_name(name, owner);
    if (fn != eval::Similarity::Cosine && fn != eval::Similarity::Dot)
        throw_error(owner, ": score_function: expected cosine or dot (cos_sim, dot_score), found '", name,
                    "'");
    return fn;
}

inline void check_option_positive(std::size_t value, const char* name, const std::string& owner) {
    if (value == 0) throw_error(owner, ": ", name, ": expected > 0, found 0");
}

// The embeddings in double, unit rows for cosine (cos_sim normalises both sides); a NaN or
// infinity would make the ranking meaningless, so it is refused with its row.
inline eval::Matrix scoring_rows(eval::Matrix m, eval::Similarity fn, const std::string& what,
                                 std::size_t first_row, const std::string& owner) {
    for (std::size_t i = 0; i < m.shape()[0]; ++i)
        for (std::size_t j = 0; j < m.shape()[1]; ++j)
            if (!std::isfinite(m(i, j)))
                throw_error(owner, ": ", what, " row ", first_row + i, ", column ", j,
                            ": expected a finite value, found ", m(i, j));
    return fn == eval::Similarity::Cosine ? eval::detail::normalize_rows(m) : m;
}

// Row i of a against row k of b as one vectorised dot product, which sums in an order
// independent of where the rows lie: equal rows score exactly equal, and within one matrix
// score(i, k) == score(k, i), as paraphrase mining assumes.
inline double row_dot(const eval::Matrix& a, std::size_t i, const eval::Matrix& b, std::size_t k) {
    using Row = Eigen::Map<const Eigen::Matrix<double, 1, Eigen::Dynamic>>;
    const std::size_t dim = a.shape()[1];
    return Row(a.data() + i * dim, static_cast<Eigen::Index>(dim))
        .dot(Row(b.data() + k * dim, static_cast<Eigen::Index>(dim)));
}

// Offers every row of `corpus` (ids from `first_id`) to the heaps of query rows [begin, end),
// best[0] being row begin's. Each pair is one dot product, so no [queries, corpus] block of
// scores exists; queries run in parallel, each on its own heap.
inline void offer_rows(const eval::Matrix& queries, std::size_t begin, std::size_t end,
                       const eval::Matrix& corpus, std::size_t first_id, BoundedTopK* best) {
    const std::size_t rows = corpus.shape()[0];
    const bool parallel = (end - begin) * rows * corpus.shape()[1] > (std::size_t{1} << 20);
#pragma omp parallel for schedule(static) if (parallel)
    for (std::ptrdiff_t q = static_cast<std::ptrdiff_t>(begin); q < static_cast<std::ptrdiff_t>(end); ++q) {
        const auto i = static_cast<std::size_t>(q);
        for (std::size_t k = 0; k < rows; ++k)
            best[i - begin].offer({first_id + k, row_dot(queries, i, corpus, k)});
    }
}

// semantic_search over a corpus of `corpus_rows` rows that read_chunk(begin, end) returns as
// a double matrix, corpus_chunk_size rows at a time: every query meets the chunks in order.
template <class ReadChunk>
std::vector<std::vector<SearchHit>> semantic_search_chunks(const eval::Matrix& query_embeddings,
                                                           std::size_t corpus_rows, std::size_t corpus_cols,
                                                           const std::string& corpus_name,
                                                           ReadChunk&& read_chunk,
                                                           const SemanticSearchOptions& o) {
    const std::string owner = "semantic_search";
    check_option_positive(o.top_k, "top_k", owner);
    check_option_positive(o.query_chunk_size, "query_chunk_size", owner);
    check_option_positive(o.corpus_chunk_size, "corpus_chunk_size", owner);
    const auto fn = search_score_function(o.score_function, owner);
    if (corpus_cols != query_embeddings.shape()[1])
        throw_error(owner, ": ", corpus_name, ": expected ", query_embeddings.shape()[1],
                    " columns as the query embeddings, found ", corpus_cols);
    const eval::Matrix queries = scoring_rows(query_embeddings, fn, "query_embeddings", 0, owner);
    const std::size_t n = queries.shape()[0];
    std::vector<BoundedTopK> best(n, BoundedTopK(o.top_k));
    for (std::size_t c = 0; c < corpus_rows; c += o.corpus_chunk_size) {
        const std::size_t c_end = std::min(corpus_rows, c + o.corpus_chunk_size);
        offer_rows(queries, 0, n, scoring_rows(read_chunk(c, c_end), fn, corpus_name, c, owner), c,
                   best.data());
    }
    std::vector<std::vector<SearchHit>> results;
    results.reserve(n);
    for (auto& b : best) results.push_back(b.take_sorted());
    return results;
}

}  // namespace detail

// For each query, its top_k corpus entries by score, best first (fewer when the corpus is
// smaller). Scores are computed in double; ties rank the larger corpus id first (see
// detail::ranks_before). Queries and corpus must have the same width.
template <std::floating_point T>
std::vector<std::vector<SearchHit>> semantic_search(const xt::xtensor<T, 2>& query_embeddings,
                                                    const xt::xtensor<T, 2>& corpus_embeddings,
                                                    const SemanticSearchOptions& options = {}) {
    return detail::semantic_search_chunks(
        eval::to_matrix(query_embeddings), corpus_embeddings.shape()[0], corpus_embeddings.shape()[1],
        "corpus_embeddings",
        [&](std::size_t begin, std::size_t end) {
            return eval::Matrix(
                xt::cast<double>(xt::view(corpus_embeddings, xt::range(begin, end), xt::all())));
        },
        options);
}

// The same search with the corpus read from a 2-D float .npy file corpus_chunk_size rows at
// a time, so the corpus never has to fit in memory; the results equal the in-memory search's.
template <std::floating_point T>
std::vector<std::vector<SearchHit>> semantic_search(const xt::xtensor<T, 2>& query_embeddings,
                                                    const std::filesystem::path& corpus_npy,
                                                    const SemanticSearchOptions& options = {}) {
    io::NpyMatrixReader reader(corpus_npy);
    return detail::semantic_search_chunks(
        eval::to_matrix(query_embeddings), reader.rows(), reader.cols(), corpus_npy.string(),
        [&](std::size_t begin, std::size_t end) { return reader.read_rows<double>(begin, end); }, options);
}

// The pairs of rows with the highest scores, [score, i, j] with i < j and no row paired with
// itself, best first. As in Python, each row proposes its top_k best other rows, and a pair
// enters a min-heap of at most max_pairs entries unless it is already there or scores no
// higher than the last pair evicted. Candidates and ties rank as in semantic_search: by
// (score, id) and (score, i, j), larger first.
template <std::floating_point T>
std::vector<ParaphrasePair> paraphrase_mining_embeddings(const xt::xtensor<T, 2>& embeddings,
                                                         const ParaphraseMiningOptions& o = {}) {
    const std::string owner = "paraphrase_mining";
    detail::check_option_positive(o.top_k, "top_k", owner);
    detail::check_option_positive(o.max_pairs, "max_pairs", owner);
    detail::check_option_positive(o.query_chunk_size, "query_chunk_size", owner);
    detail::check_option_positive(o.corpus_chunk_size, "corpus_chunk_size", owner);
    const auto fn = detail::search_score_function(o.score_function, owner);
    const eval::Matrix e = detail::scoring_rows(eval::to_matrix(embeddings), fn, "embeddings", 0, owner);
    const std::size_t n = e.shape()[0];

    // Python's heapq: the smallest (score, i, j) on top.
    const auto tuple_greater = [](const ParaphrasePair& a, const ParaphrasePair& b) {
        return std::tie(a.score, a.i, a.j) > std::tie(b.score, b.i, b.j);
    };
    std::vector<ParaphrasePair> pairs;
    std::set<std::pair<std::size_t, std::size_t>> queued;
    double min_score = -std::numeric_limits<double>::infinity();
    for (std::size_t q = 0; q < n; q += o.query_chunk_size) {
        const std::size_t q_end = std::min(n, q + o.query_chunk_size);
        // top_k + 1, so that top_k remain once the row itself is dropped.
        std::vector<detail::BoundedTopK> best(q_end - q, detail::BoundedTopK(o.top_k + 1));
        detail::offer_rows(e, q, q_end, e, 0, best.data());
        for (std::size_t i = q; i < q_end; ++i) {
            std::size_t neighbours = 0;
            for (const SearchHit& hit : best[i - q].take_sorted()) {
                if (hit.corpus_id == i) continue;
                if (neighbours++ == o.top_k) break;
                if (hit.score <= min_score) continue;
                const ParaphrasePair pair{hit.score, std::min(i, hit.corpus_id), std::max(i, hit.corpus_id)};
                if (!queued.insert({pair.i, pair.j}).second) continue;
                if (pairs.size() < o.max_pairs) {
                    pairs.push_back(pair);
                    std::push_heap(pairs.begin(), pairs.end(), tuple_greater);
                    continue;
                }
                // heappushpop: the smallest of the heap and the new pair leaves.
                ParaphrasePair evicted = pair;
                if (tuple_greater(pair, pairs.front())) {
                    std::pop_heap(pairs.begin(), pairs.end(), tuple_greater);
                    evicted = pairs.back();
                    pairs.back() = pair;
                    std::push_heap(pairs.begin(), pairs.end(), tuple_greater);
                }
                queued.erase({evicted.i, evicted.j});
                min_score = evicted.score;
            }
        }
    }
    std::sort(pairs.begin(), pairs.end(), tuple_greater);
    return pairs;
}

// paraphrase_mining(model, sentences): encodes the sentences (a SentenceTransformer, or any
// model with encode(texts, options) returning [texts, dim] floats), then mines them. The
// encode options carry Python's batch_size, truncate_dim, prompt and prompt_name.
template <class Model, class EncodeOptions>
std::vector<ParaphrasePair> paraphrase_mining(const Model& model, const std::vector<std::string>& sentences,
                                              const ParaphraseMiningOptions& options,
                                              const EncodeOptions& encode_options) {
    static_assert(
        requires {
            { model.encode(sentences, encode_options) } -> std::convertible_to<xt::xtensor<float, 2>>;
        },
        "paraphrase_mining: the model needs encode(const std::vector<std::string>&, const EncodeOptions&) "
        "returning xt::xtensor<float, 2>, as SentenceTransformer has");
    return paraphrase_mining_embeddings(xt::xtensor<float, 2>(model.encode(sentences, encode_options)),
                                        options);
}

template <class Model>
std::vector<ParaphrasePair> paraphrase_mining(const Model& model, const std::vector<std::string>& sentences,
                                              const ParaphraseMiningOptions& options = {}) {
    static_assert(
        requires {
            { model.encode(sentences) } -> std::convertible_to<xt::xtensor<float, 2>>;
        },
        "paraphrase_mining: the model needs encode(const std::vector<std::string>&) returning "
        "xt::xtensor<float, 2>, as SentenceTransformer has");
    return paraphrase_mining_embeddings(xt::xtensor<float, 2>(model.encode(sentences)), options);
}

}  // namespace tandem
