// Hard negative mining as sentence-transformers' util.mine_hard_negatives: each anchor's
// closest corpus entries by embedding, less the anchor itself and its positives, kept by
// rank window, score bounds and margins to the positive's score, sampled "top" or
// "random", and written as triplets, n-tuples, labeled pairs or labeled lists. Texts and
// images alike (the model encodes either). Not here: the cross_encoder rescoring, FAISS
// (use_faiss, faiss_batch_size), use_multi_process, cache_folder and verbose's statistics.
// reference: sentence_transformers.util.hard_negatives.mine_hard_negatives (sentence-transformers 6.3).
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/permutation.hpp>
#include <tandem/eval/metrics.hpp>
#include <tandem/infer/search.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace tandem {

// The keyword arguments of mine_hard_negatives after the dataset and model, under their
// Python names and defaults.
struct MineHardNegativesOptions {
    // Default: the dataset's first and second columns. A name the dataset lacks is an error
    // (Python quietly takes the default column instead).
    std::optional<std::string> anchor_column_name;
    std::optional<std::string> positive_column_name;
    // Candidate negatives besides the positive column: texts, images or both.
    std::optional<data::Column> corpus;
    // As in Python, an anchor's candidates are its range_max + m + 1 best-scoring corpus
    // entries (m: the most rows one anchor has); of those the exclusions below leave, ranks
    // [range_min, range_max) remain, so exclusions can leave fewer than num_negatives.
    std::size_t range_min = 0;
    // Default: range_min + num_negatives + m, with 10 * num_negatives in place of
    // num_negatives when a margin or max_score filters candidates.
    std::optional<std::size_t> range_max;
    std::optional<double> max_score;
    std::optional<double> min_score;
    // A candidate is dropped when score + absolute_margin > the positive's score, or when
    // score > positive - |positive| * relative_margin; an anchor with several positives is
    // held against the lowest-scoring one.
    std::optional<double> absolute_margin;
    std::optional<double> relative_margin;
    std::size_t num_negatives = 3;
    // "top": the best num_negatives candidates; "random": num_negatives of them drawn
    // uniformly, listed best first.
    std::string sampling_strategy = "top";
    // Anchors go through encode_query, the corpus through encode_document (which pick the
    // folder's "query" and "document" prompts); a prompt takes precedence over a prompt name.
    std::optional<std::string> query_prompt_name;
    std::optional<std::string> query_prompt;
    std::optional<std::string> corpus_prompt_name;
    std::optional<std::string> corpus_prompt;
    // Keep each anchor's positives among its candidates (and an anchor that is its own
    // positive); forces output_format "n-tuple", as Python does.
    bool include_positives = false;
    // "triplet", "n-tuple", "labeled-pair" or "labeled-list" ("n-tuple-scores", deprecated:
    // "n-tuple" with output_scores).
    std::string output_format = "triplet";
    bool output_scores = false;
    std::size_t batch_size = 32;
    // Deprecated in Python too: as_triplets sets output_format to "triplet" (true) or
    // "n-tuple" (false); margin sets absolute_margin.
    std::optional<bool> as_triplets;
    std::optional<double> margin;
    // tandem's own: Python draws "random" samples from its global `random` state, which no
    // C++ program can reproduce; here the sample of the i-th distinct anchor depends on
    // (seed, i) only.
    std::uint64_t seed = 0;
};

// A column whose cells are lists, which data::Column (one value a cell) does not hold.
template <class T>
struct ListColumn {
    std::string name;
    std::vector<std::vector<T>> rows;
};

// The rows mine_hard_negatives returns: Python's single-valued columns as a Dataset, and its
// list-valued columns beside it, which come after those in Python's column order.
struct MinedHardNegatives {
    // "triplet": anchor, positive, negative; "n-tuple": anchor, positive, negative_1 ..
    // negative_n; "labeled-pair": anchor, positive (positives and negatives), label (int64)
    // or, with output_scores, score (float); "labeled-list": anchor. The anchor and positive
    // columns keep the dataset's names.
    data::Dataset dataset;
    // "labeled-list": each row's positive and then its negatives, under the positive
    // column's name.
    std::optional<ListColumn<data::Cell>> documents;
    // "labeled-list" without output_scores: "labels", 1 for the positive, 0 for each negative.
    std::optional<ListColumn<std::int64_t>> labels;
    // output_scores with "triplet", "n-tuple" or "labeled-list": "scores", the positive's
    // score and then each negative's.
    std::optional<ListColumn<double>> scores;

    std::size_t size() const { return dataset.size(); }
    // Every column, in Python's order.
    std::vector<std::string> column_names() const {
        auto names = dataset.column_names();
        if (documents) names.push_back(documents->name);
        if (labels) names.push_back(labels->name);
        if (scores) names.push_back(scores->name);
        return names;
    }
};

namespace detail {

// What makes two cells one input, as Python's dict.fromkeys compares texts: equal texts, one
// image path, equal encoded bytes, equal pixels of one shape, or one slice of one open file.
// A text never equals an image.
struct CellIdentity {
    enum Kind { text, image_file, encoded, decoded, slice } kind;
    std::string_view bytes;
    std::array<std::uint64_t, 3> extra{};
    bool operator==(const CellIdentity&) const = default;
};

inline CellIdentity cell_identity(const data::Cell& cell) {
    if (const auto* text = std::get_if<std::string>(&cell)) return {CellIdentity::text, *text};
    const auto& image = std::get<data::ImageRef>(cell);
    const auto as_chars = [](std::span<const std::uint8_t> b) {
        return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
    };
    if (const auto* f = std::get_if<data::ImageFile>(&image))
        return {CellIdentity::image_file, f->path.native()};
    if (const auto* e = std::get_if<data::EncodedImage>(&image))
        return {CellIdentity::encoded, as_chars(e->bytes())};
    if (const auto* d = std::get_if<data::DecodedImage>(&image))
        return {CellIdentity::decoded, as_chars(d->bytes()), {d->height, d->width, d->channels}};
    const auto& s = std::get<data::FileSlice>(image);
    return {CellIdentity::slice, {}, {reinterpret_cast<std::uintptr_t>(s.file.get()), s.offset, s.size}};
}

// Distinct cells in the order first seen, as list(dict.fromkeys(cells)).
class UniqueCells {
public:
    // The id of `cell`: that of an equal cell seen before, else the next one.
    std::size_t insert(const data::Cell& cell) {
        const auto key = cell_identity(cell);
        const std::size_t h = hash(key);
        if (const auto id = find(key, h)) return *id;
        ids_.emplace(h, cells_.size());
        cells_.push_back(cell);
        return cells_.size() - 1;
    }
    std::optional<std::size_t> find(const data::Cell& cell) const {
        const auto key = cell_identity(cell);
        return find(key, hash(key));
    }
    std::size_t size() const { return cells_.size(); }
    const std::vector<data::Cell>& cells() const { return cells_; }

private:
    static std::size_t hash(const CellIdentity& key) {
        std::size_t h = std::hash<std::string_view>{}(key.bytes) ^ static_cast<std::size_t>(key.kind);
        for (std::uint64_t x : key.extra) h = h * 0x100000001b3ull ^ static_cast<std::size_t>(x);
        return h;
    }
    std::optional<std::size_t> find(const CellIdentity& key, std::size_t h) const {
        const auto [first, last] = ids_.equal_range(h);
        for (auto it = first; it != last; ++it)
            if (cell_identity(cells_[it->second]) == key) return it->second;
        return std::nullopt;
    }

    std::vector<data::Cell> cells_;
    std::unordered_multimap<std::size_t, std::size_t> ids_;
};

enum class MineFormat { triplet, n_tuple, labeled_pair, labeled_list };

// Where a corpus entry was first seen: a row of options.corpus or of the positive column.
struct CorpusSource {
    bool extra_corpus;
    std::size_t row;
};

// The dataset read and the options checked and resolved as Python resolves them (as_triplets,
// include_positives and margin applied, range_max defaulted), before anything is encoded.
struct MiningPlan {
    MineFormat format = MineFormat::triplet;
    bool output_scores = false, include_positives = false, random = false;
    std::uint64_t seed = 0;
    std::size_t num_negatives = 0, range_min = 0, range_max = 0, max_positives = 0;
    std::optional<double> absolute_margin, relative_margin, max_score, min_score;
    std::string anchor_name, positive_name;
    data::ColumnType anchor_type = data::ColumnType::text, positive_type = data::ColumnType::text,
                     corpus_type = data::ColumnType::text;
    // Distinct anchors and the corpus: options.corpus, then positives not in it.
    UniqueCells queries, corpus;
    std::vector<std::size_t> query_row;  // the first dataset row of each anchor
    std::vector<CorpusSource> corpus_source;
    // Each anchor's own corpus id, when its text is in the corpus: never its own negative.
    std::vector<std::optional<std::size_t>> query_in_corpus;
    // Each anchor's distinct positives, first seen first.
    std::vector<std::vector<std::size_t>> positives;
};

inline std::string column_list(const data::Dataset& d) {
    std::string s = "[";
    for (const auto& n : d.column_names()) s += (s.size() > 1 ? ", '" : "'") + n + "'";
    return s + "]";
}

inline void check_input_column(const data::Column& c, const char* role) {
    if (c.is_label())
        throw_error("mine_hard_negatives: ", role, " column '", c.name(), "' holds ",
                    data::column_type_name(c.type()), "s, expected texts or images");
}

inline data::ColumnType combined_type(data::ColumnType a, data::ColumnType b) {
    return a == b ? a : data::ColumnType::mixed;
}

inline std::size_t mining_column(const data::Dataset& d, const std::optional<std::string>& name,
                                 std::size_t fallback, const char* option) {
    if (name) {
        if (!d.has_column(*name))
            throw_error("mine_hard_negatives: ", option, ": no column named '", *name, "'; the columns are ",
                        column_list(d));
        return d.index_of(*name);
    }
    if (fallback >= d.num_columns())
        throw_error("mine_hard_negatives: ", option,
                    ": expected a dataset of at least two columns to take column ", fallback,
                    " by default, found ", d.num_columns(), " ", column_list(d));
    return fallback;
}

inline MiningPlan plan_mining(const data::Dataset& d, const MineHardNegativesOptions& o) {
    MiningPlan p;
    if (d.empty()) throw_error("mine_hard_negatives: the dataset is empty, expected (anchor, positive) rows");
    const std::size_t anchor = mining_column(d, o.anchor_column_name, 0, "anchor_column_name");
    const std::size_t positive = mining_column(d, o.positive_column_name, 1, "positive_column_name");
    if (anchor == positive)
        throw_error("mine_hard_negatives: the anchor and positive columns are both '",
                    d.column(anchor).name(), "', expected two different columns");
    check_input_column(d.column(anchor), "anchor");
    check_input_column(d.column(positive), "positive");
    if (o.corpus) check_input_column(*o.corpus, "corpus");
    p.anchor_name = d.column(anchor).name();
    p.positive_name = d.column(positive).name();
    p.anchor_type = d.column(anchor).type();
    p.positive_type = d.column(positive).type();
    p.corpus_type = o.corpus ? combined_type(o.corpus->type(), p.positive_type) : p.positive_type;

    std::string format = o.output_format;
    p.output_scores = o.output_scores;
    if (o.as_triplets) format = *o.as_triplets ? "triplet" : "n-tuple";
    if (o.include_positives) format = "n-tuple";
    if (format == "n-tuple-scores") {
        format = "n-tuple";
        p.output_scores = true;
    }
    if (format == "triplet")
        p.format = MineFormat::triplet;
    else if (format == "n-tuple")
        p.format = MineFormat::n_tuple;
    else if (format == "labeled-pair")
        p.format = MineFormat::labeled_pair;
    else if (format == "labeled-list")
        p.format = MineFormat::labeled_list;
    else
        throw_error(
            "mine_hard_negatives: output_format: expected triplet, n-tuple, labeled-pair or labeled-list, "
            "found '",
            format, "'");
    if (o.sampling_strategy != "top" && o.sampling_strategy != "random")
        throw_error("mine_hard_negatives: sampling_strategy: expected top or random, found '",
                    o.sampling_strategy, "'");
    p.random = o.sampling_strategy == "random";
    p.seed = o.seed;
    p.include_positives = o.include_positives;
    p.absolute_margin = o.margin ? o.margin : o.absolute_margin;
    p.relative_margin = o.relative_margin;
    p.max_score = o.max_score;
    p.min_score = o.min_score;
    if (o.num_negatives == 0) throw_error("mine_hard_negatives: num_negatives: expected at least 1, found 0");
    p.num_negatives = o.num_negatives;
    p.range_min = o.range_min;

    // The rows per anchor, repeated rows included, as Python counts them with pandas.
    std::vector<std::size_t> rows_per_query;
    std::vector<std::pair<std::size_t, data::Cell>> row_positives;
    for (std::size_t r = 0; r < d.size(); ++r) {
        const std::size_t q = p.queries.insert(d.cell(r, anchor));
        if (q == rows_per_query.size()) {
            rows_per_query.push_back(0);
            p.query_row.push_back(r);
        }
        p.max_positives = std::max(p.max_positives, ++rows_per_query[q]);
        row_positives.emplace_back(q, d.cell(r, positive));
    }
    const bool filtered = p.absolute_margin || p.relative_margin || p.max_score;
    p.range_max =
        o.range_max ? *o.range_max : p.range_min + p.num_negatives * (filtered ? 10 : 1) + p.max_positives;
    if (p.range_min >= p.range_max)
        throw_error("mine_hard_negatives: range_min: expected less than range_max (", p.range_max,
                    "), found ", p.range_min);
    if (p.num_negatives > p.range_max - p.range_min)
        throw_error("mine_hard_negatives: num_negatives: expected at most the ", p.range_max - p.range_min,
                    " candidates that range_min ", p.range_min, " and range_max ", p.range_max,
                    " leave, found ", p.num_negatives);

    const auto add_to_corpus = [&](const data::Cell& cell, CorpusSource source) {
        const std::size_t id = p.corpus.insert(cell);
        if (id == p.corpus_source.size()) p.corpus_source.push_back(source);
        return id;
    };
    if (o.corpus)
        for (std::size_t r = 0; r < o.corpus->size(); ++r) add_to_corpus(o.corpus->cell(r), {true, r});
    p.positives.resize(p.queries.size());
    for (std::size_t r = 0; r < row_positives.size(); ++r) {
        const auto& [q, cell] = row_positives[r];
        const std::size_t id = add_to_corpus(cell, {false, r});
        if (std::find(p.positives[q].begin(), p.positives[q].end(), id) == p.positives[q].end())
            p.positives[q].push_back(id);
    }
    for (const auto& query : p.queries.cells()) p.query_in_corpus.push_back(p.corpus.find(query));
    // An anchor that is its own positive may be its own candidate when positives are.
    if (p.include_positives)
        for (std::size_t q = 0; q < p.queries.size(); ++q)
            if (const auto self = p.query_in_corpus[q];
                self &&
                std::find(p.positives[q].begin(), p.positives[q].end(), *self) != p.positives[q].end())
                p.query_in_corpus[q].reset();
    return p;
}

inline data::Column cells_column(std::string name, std::vector<data::Cell> cells, data::ColumnType type) {
    if (type == data::ColumnType::mixed) return data::Column(std::move(name), std::move(cells));
    if (type == data::ColumnType::text) {
        std::vector<std::string> texts;
        for (auto& c : cells) texts.push_back(std::move(std::get<std::string>(c)));
        return data::Column(std::move(name), std::move(texts));
    }
    std::vector<data::ImageRef> images;
    for (auto& c : cells) images.push_back(std::move(std::get<data::ImageRef>(c)));
    return data::Column(std::move(name), std::move(images));
}

// Each anchor's negatives, best first: of its range_max + max_positives + 1 best corpus
// entries (Python's top-k window), those no exclusion drops, ranks [range_min, range_max) of
// them, then the top num_negatives or a random num_negatives.
inline std::vector<std::vector<SearchHit>> select_negatives(
    const MiningPlan& p, const eval::Matrix& queries, const eval::Matrix& corpus,
    const std::vector<std::vector<double>>& positive_scores) {
    const std::size_t n = p.queries.size();
    std::vector<BoundedTopK> best(n, BoundedTopK(p.range_max + p.max_positives + 1));
    offer_rows(queries, 0, n, corpus, 0, best.data());
    std::vector<std::vector<SearchHit>> negatives(n);
    for (std::size_t q = 0; q < n; ++q) {
        const auto& own = p.positives[q];
        const double positive = *std::min_element(positive_scores[q].begin(), positive_scores[q].end());
        std::vector<SearchHit> kept;
        for (const SearchHit& hit : best[q].take_sorted()) {
            const double s = hit.score;
            if (hit.corpus_id == p.query_in_corpus[q]) continue;
            if (!p.include_positives && std::find(own.begin(), own.end(), hit.corpus_id) != own.end())
                continue;
            if (p.absolute_margin && s + *p.absolute_margin > positive) continue;
            if (p.relative_margin && s > positive - std::abs(positive) * *p.relative_margin) continue;
            if (p.max_score && s > *p.max_score) continue;
            if (p.min_score && s < *p.min_score) continue;
            kept.push_back(hit);
            if (kept.size() == p.range_max) break;
        }
        kept.erase(kept.begin(), kept.begin() + std::ptrdiff_t(std::min(p.range_min, kept.size())));
        if (kept.size() > p.num_negatives && p.random) {
            // A uniform subset, as random.sample over the candidates, kept in rank order.
            auto picks = data::Shuffler(p.seed, q).permutation(kept.size());
            picks.resize(p.num_negatives);
            std::sort(picks.begin(), picks.end());
            std::vector<SearchHit> sampled;
            for (std::size_t i : picks) sampled.push_back(kept[i]);
            kept = std::move(sampled);
        }
        kept.resize(std::min(kept.size(), p.num_negatives));
        negatives[q] = std::move(kept);
    }
    return negatives;
}

// The rows in Python's order: by anchor as first seen, each anchor's positives as first seen.
inline MinedHardNegatives mine(const MiningPlan& p, const eval::Matrix& queries, const eval::Matrix& corpus) {
    const std::size_t n = p.queries.size();
    std::vector<std::vector<double>> positive_scores(n);
    for (std::size_t q = 0; q < n; ++q)
        for (std::size_t id : p.positives[q]) positive_scores[q].push_back(row_dot(queries, q, corpus, id));
    const auto negatives = select_negatives(p, queries, corpus, positive_scores);

    const auto& query_cells = p.queries.cells();
    const auto& corpus_cells = p.corpus.cells();
    MinedHardNegatives out;
    std::vector<data::Cell> anchors, positives;
    std::vector<std::vector<data::Cell>> negative_columns(p.format == MineFormat::n_tuple ? p.num_negatives
                                                                                          : 1);
    std::vector<std::vector<double>> score_lists;
    std::vector<std::int64_t> labels;
    std::vector<float> scores;
    if (p.format == MineFormat::labeled_list) {
        out.documents = ListColumn<data::Cell>{p.positive_name, {}};
        if (!p.output_scores) out.labels = ListColumn<std::int64_t>{"labels", {}};
    }
    const auto labeled_pair = [&](std::size_t q, std::size_t id, int label, double score) {
        anchors.push_back(query_cells[q]);
        positives.push_back(corpus_cells[id]);
        if (p.output_scores)
            scores.push_back(static_cast<float>(score));
        else
            labels.push_back(label);
    };
    for (std::size_t q = 0; q < n; ++q) {
        const auto& negs = negatives[q];
        if (p.format == MineFormat::labeled_pair) {
            for (std::size_t k = 0; k < p.positives[q].size(); ++k)
                labeled_pair(q, p.positives[q][k], 1, positive_scores[q][k]);
            for (const auto& hit : negs) labeled_pair(q, hit.corpus_id, 0, hit.score);
            continue;
        }
        for (std::size_t k = 0; k < p.positives[q].size(); ++k) {
            const auto& positive = corpus_cells[p.positives[q][k]];
            const double positive_score = positive_scores[q][k];
            if (p.format == MineFormat::triplet) {
                for (const auto& hit : negs) {
                    anchors.push_back(query_cells[q]);
                    positives.push_back(positive);
                    negative_columns[0].push_back(corpus_cells[hit.corpus_id]);
                    score_lists.push_back({positive_score, hit.score});
                }
                continue;
            }
            // n-tuple rows need every negative, labeled-list rows one.
            if (p.format == MineFormat::n_tuple ? negs.size() < p.num_negatives : negs.empty()) continue;
            anchors.push_back(query_cells[q]);
            std::vector<double> row_scores = {positive_score};
            for (const auto& hit : negs) row_scores.push_back(hit.score);
            score_lists.push_back(std::move(row_scores));
            if (p.format == MineFormat::n_tuple) {
                positives.push_back(positive);
                for (std::size_t i = 0; i < negs.size(); ++i)
                    negative_columns[i].push_back(corpus_cells[negs[i].corpus_id]);
                continue;
            }
            std::vector<data::Cell> documents = {positive};
            for (const auto& hit : negs) documents.push_back(corpus_cells[hit.corpus_id]);
            out.documents->rows.push_back(std::move(documents));
            if (out.labels) {
                std::vector<std::int64_t> row_labels(negs.size() + 1, 0);
                row_labels[0] = 1;
                out.labels->rows.push_back(std::move(row_labels));
            }
        }
    }

    std::vector<data::Column> columns;
    columns.push_back(cells_column(p.anchor_name, std::move(anchors), p.anchor_type));
    switch (p.format) {
        case MineFormat::triplet:
            columns.push_back(cells_column(p.positive_name, std::move(positives), p.positive_type));
            columns.push_back(cells_column("negative", std::move(negative_columns[0]), p.corpus_type));
            break;
        case MineFormat::n_tuple:
            columns.push_back(cells_column(p.positive_name, std::move(positives), p.positive_type));
            for (std::size_t i = 0; i < negative_columns.size(); ++i)
                columns.push_back(cells_column("negative_" + std::to_string(i + 1),
                                               std::move(negative_columns[i]), p.corpus_type));
            break;
        case MineFormat::labeled_pair:
            columns.push_back(cells_column(p.positive_name, std::move(positives), p.corpus_type));
            if (p.output_scores)
                columns.emplace_back("score", std::move(scores));
            else
                columns.emplace_back("label", std::move(labels));
            break;
        case MineFormat::labeled_list:
            break;
    }
    if (p.output_scores && p.format != MineFormat::labeled_pair)
        out.scores = ListColumn<double>{"scores", std::move(score_lists)};
    out.dataset = data::Dataset(std::move(columns));
    return out;
}

template <class Model>
eval::Similarity mining_similarity(const Model& model) {
    if constexpr (requires { model.similarity_fn_name(); }) {
        const std::string name = model.similarity_fn_name();
        const auto fn = eval::similarity_from_name(name, "mine_hard_negatives");
        if (fn != eval::Similarity::Cosine && fn != eval::Similarity::Dot)
            throw_error(
                "mine_hard_negatives: the model's similarity_fn_name: expected cosine or dot, found '", name,
                "'");
        return fn;
    } else {
        return eval::Similarity::Cosine;
    }
}

// Unit-length embeddings of `cells` in double: texts by encode_query or encode_document,
// images by encode, each modality in one call.
template <class Model>
eval::Matrix encode_for_mining(const Model& model, const std::vector<data::Cell>& cells, bool queries,
                               const std::optional<std::string>& prompt,
                               const std::optional<std::string>& prompt_name, std::size_t batch_size) {
    EncodeOptions o;
    o.batch_size = batch_size;
    o.normalize_embeddings = true;
    if (prompt)
        o.prompt = prompt;
    else
        o.prompt_name = prompt_name;
    std::vector<std::string> texts;
    std::vector<data::ImageRef> images;
    std::vector<std::size_t> text_rows, image_rows;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (const auto* t = std::get_if<std::string>(&cells[i])) {
            texts.push_back(*t);
            text_rows.push_back(i);
        } else {
            images.push_back(std::get<data::ImageRef>(cells[i]));
            image_rows.push_back(i);
        }
    }
    xt::xtensor<float, 2> text_embeddings, image_embeddings;
    if (!texts.empty())
        text_embeddings = queries ? model.encode_query(texts, o) : model.encode_document(texts, o);
    if (!images.empty()) image_embeddings = model.encode(images, o);
    const std::size_t dim = texts.empty() ? image_embeddings.shape(1) : text_embeddings.shape(1);
    if (!texts.empty() && !images.empty() && image_embeddings.shape(1) != dim)
        throw_error("mine_hard_negatives: the model's text embeddings are ", dim,
                    " wide and its image embeddings ", image_embeddings.shape(1), ", expected one width");
    eval::Matrix out = xt::zeros<double>({cells.size(), dim});
    const auto scatter = [&](const xt::xtensor<float, 2>& e, const std::vector<std::size_t>& rows) {
        for (std::size_t k = 0; k < rows.size(); ++k)
            for (std::size_t j = 0; j < dim; ++j) out(rows[k], j) = e(k, j);
    };
    scatter(text_embeddings, text_rows);
    scatter(image_embeddings, image_rows);
    return out;
}

inline void check_embedding_rows(const eval::Matrix& m, std::size_t rows, std::size_t dim, const char* what,
                                 const char* per) {
    if (m.shape()[0] != rows)
        throw_error("mine_hard_negatives: ", what, ": expected ", rows, " rows, one per ", per, ", found ",
                    m.shape()[0]);
    if (rows && m.shape()[1] != dim)
        throw_error("mine_hard_negatives: ", what, ": expected ", dim,
                    " columns as the anchor embeddings, found ", m.shape()[1]);
}

}  // namespace detail

// Mines hard negatives for the (anchor, positive) rows of `dataset` with `model` (a
// SentenceTransformer, or any model with its encode_query, encode_document and encode of
// images): the corpus (options.corpus, then the positives, each distinct cell once) and the
// distinct anchors are encoded to unit length and scored in double by the model's
// similarity (cosine or dot, equal on unit vectors). Repeated rows and repeated anchors
// collapse as in Python: rows come by anchor as first seen, then its positives as first
// seen. Ties between candidates rank the larger corpus id first (detail::ranks_before).
template <class Model>
MinedHardNegatives mine_hard_negatives(const data::Dataset& dataset, const Model& model,
                                       const MineHardNegativesOptions& options = {}) {
    static_assert(
        requires(const std::vector<std::string>& texts, const std::vector<data::ImageRef>& images,
                 const EncodeOptions& o) {
            { model.encode_query(texts, o) } -> std::convertible_to<xt::xtensor<float, 2>>;
            { model.encode_document(texts, o) } -> std::convertible_to<xt::xtensor<float, 2>>;
            { model.encode(images, o) } -> std::convertible_to<xt::xtensor<float, 2>>;
        },
        "mine_hard_negatives: the model needs encode_query and encode_document of texts and encode of "
        "images (std::vector<data::ImageRef>), each taking EncodeOptions and returning xt::xtensor<float, "
        "2>, "
        "as SentenceTransformer has");
    const auto plan = detail::plan_mining(dataset, options);
    const auto fn = detail::mining_similarity(model);
    const auto corpus = detail::encode_for_mining(model, plan.corpus.cells(), false, options.corpus_prompt,
                                                  options.corpus_prompt_name, options.batch_size);
    const auto queries = detail::encode_for_mining(model, plan.queries.cells(), true, options.query_prompt,
                                                   options.query_prompt_name, options.batch_size);
    const std::string owner = "mine_hard_negatives";
    return detail::mine(plan, detail::scoring_rows(queries, fn, "the anchor embeddings", 0, owner),
                        detail::scoring_rows(corpus, fn, "the corpus embeddings", 0, owner));
}

// The same mining on embeddings computed beforehand: row i of anchor_embeddings and
// positive_embeddings embeds row i of `dataset`'s anchor and positive columns, row i of
// corpus_embeddings row i of options.corpus. A cell seen several times keeps the embedding
// of its first row (options.corpus before the positives). They are scored by cosine, as
// Python scores the unit-length embeddings it encodes.
template <std::floating_point T>
MinedHardNegatives mine_hard_negatives(const data::Dataset& dataset,
                                       const xt::xtensor<T, 2>& anchor_embeddings,
                                       const xt::xtensor<T, 2>& positive_embeddings,
                                       const xt::xtensor<T, 2>& corpus_embeddings,
                                       const MineHardNegativesOptions& options) {
    const auto plan = detail::plan_mining(dataset, options);
    const std::string owner = "mine_hard_negatives";
    const auto rows = [&](const xt::xtensor<T, 2>& e, const char* what) {
        return detail::scoring_rows(eval::to_matrix(e), eval::Similarity::Cosine, what, 0, owner);
    };
    const auto anchors = rows(anchor_embeddings, "anchor_embeddings");
    const auto positives = rows(positive_embeddings, "positive_embeddings");
    const auto extra = rows(corpus_embeddings, "corpus_embeddings");
    const std::size_t dim = anchors.shape()[1];
    detail::check_embedding_rows(anchors, dataset.size(), dim, "anchor_embeddings", "dataset row");
    detail::check_embedding_rows(positives, dataset.size(), dim, "positive_embeddings", "dataset row");
    detail::check_embedding_rows(extra, options.corpus ? options.corpus->size() : 0, dim, "corpus_embeddings",
                                 "row of options.corpus");
    eval::Matrix queries = xt::zeros<double>({plan.queries.size(), dim});
    eval::Matrix corpus = xt::zeros<double>({plan.corpus.size(), dim});
    for (std::size_t q = 0; q < plan.queries.size(); ++q)
        xt::view(queries, q, xt::all()) = xt::view(anchors, plan.query_row[q], xt::all());
    for (std::size_t c = 0; c < plan.corpus.size(); ++c) {
        const auto& source = plan.corpus_source[c];
        xt::view(corpus, c, xt::all()) =
            xt::view(source.extra_corpus ? extra : positives, source.row, xt::all());
    }
    return detail::mine(plan, queries, corpus);
}

// Without options.corpus: the positives are the whole corpus.
template <std::floating_point T>
MinedHardNegatives mine_hard_negatives(const data::Dataset& dataset,
                                       const xt::xtensor<T, 2>& anchor_embeddings,
                                       const xt::xtensor<T, 2>& positive_embeddings,
                                       const MineHardNegativesOptions& options = {}) {
    const xt::xtensor<T, 2> no_corpus = xt::zeros<T>({std::size_t{0}, anchor_embeddings.shape(1)});
    return mine_hard_negatives(dataset, anchor_embeddings, positive_embeddings, no_corpus, options);
}

}  // namespace tandem
