// InformationRetrievalEvaluator: each query against the corpus, scored by cos_sim or
// dot_score, a chunk of the corpus at a time, ranked by score and then corpus id; reports
// accuracy, precision, recall, MRR, NDCG and MAP at k under sentence-transformers v6
// names (`cosine_ndcg@10`) and appends to Information-Retrieval_evaluation[_name]_results.csv.
// reference: sentence_transformers.sentence_transformer.evaluation.InformationRetrievalEvaluator.
#pragma once

#include <tandem/eval/metrics.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tandem::eval {

// The constructor arguments of InformationRetrievalEvaluator after its data, under their Python names.
struct InformationRetrievalOptions {
    std::size_t corpus_chunk_size = 50000;
    std::vector<int> mrr_at_k{10};
    std::vector<int> ndcg_at_k{10};
    std::vector<int> accuracy_at_k{1, 3, 5, 10};
    std::vector<int> precision_recall_at_k{1, 3, 5, 10};
    std::vector<int> map_at_k{100};
    std::string name{};
    bool write_csv = true;
    std::optional<std::size_t> truncate_dim{};
    // Names of the metrics' prefix and function: "cosine" / "cos_sim", "dot" / "dot_score".
    std::vector<std::string> score_functions{"cosine"};
    std::optional<std::string> main_score_function{};
};

class InformationRetrievalEvaluator {
public:
    using Options = InformationRetrievalOptions;

    // Rows of the query embeddings follow `query_ids`, rows of the corpus `corpus_ids`;
    // queries without relevant documents are left out, as sentence-transformers does.
    InformationRetrievalEvaluator(std::vector<std::string> query_ids, std::vector<std::string> corpus_ids,
                                  std::map<std::string, std::set<std::string>> relevant_docs,
                                  Options options = {})
        : all_query_ids_(std::move(query_ids)),
          corpus_ids_(std::move(corpus_ids)),
          relevant_docs_(std::move(relevant_docs)),
          options_(std::move(options)) {
        const std::string owner = "InformationRetrievalEvaluator";
        for (std::size_t i = 0; i < all_query_ids_.size(); ++i) {
            auto it = relevant_docs_.find(all_query_ids_[i]);
            if (it != relevant_docs_.end() && !it->second.empty()) kept_.push_back(i);
        }
        if (kept_.empty())
            tandem::detail::throw_error(owner,
                                        ": relevant_docs: expected at least one query with a relevant ",
                                        "document, found none among ", all_query_ids_.size(), " queries");
        if (corpus_ids_.empty())
            tandem::detail::throw_error(owner, ": corpus_ids: expected at least one, found none");
        if (std::set<std::string>(corpus_ids_.begin(), corpus_ids_.end()).size() != corpus_ids_.size())
            tandem::detail::throw_error(owner, ": corpus_ids: expected unique ids, found duplicates");
        if (options_.corpus_chunk_size == 0)
            tandem::detail::throw_error(owner, ": corpus_chunk_size: expected > 0, found 0");
        for (const auto* ks : {&options_.mrr_at_k, &options_.ndcg_at_k, &options_.accuracy_at_k,
                               &options_.precision_recall_at_k, &options_.map_at_k}) {
            if (ks->empty()) tandem::detail::throw_error(owner, ": every list of k needs at least one value");
            for (int k : *ks)
                if (k <= 0) tandem::detail::throw_error(owner, ": k: expected values > 0, found ", k);
            max_k_ = std::max(max_k_, static_cast<std::size_t>(*std::max_element(ks->begin(), ks->end())));
        }
        names_ = options_.score_functions;
        if (names_.empty())
            tandem::detail::throw_error(owner, ": score_functions: expected at least one, found none");
        std::sort(names_.begin(), names_.end());
        for (const auto& n : names_) {
            const auto fn = similarity_from_name(n, owner);
            if (fn != Similarity::Cosine && fn != Similarity::Dot)
                tandem::detail::throw_error(owner, ": score_functions: expected cosine or dot, found '", n,
                                            "'");
        }
        if (options_.main_score_function) similarity_from_name(*options_.main_score_function, owner);
    }

    Metrics operator()(const EmbeddingSet& set, const EvalContext& context = {}) {
        return evaluate(detail::require(set, "queries", "InformationRetrievalEvaluator"),
                        detail::require(set, "corpus", "InformationRetrievalEvaluator"), context);
    }

    template <class T>
    Metrics evaluate(const xt::xtensor<T, 2>& queries, const xt::xtensor<T, 2>& corpus,
                     const EvalContext& context = {}) {
        const std::string owner = "InformationRetrievalEvaluator";
        const Matrix q_all = detail::truncate(to_matrix(queries), options_.truncate_dim, owner);
        const Matrix c = detail::truncate(to_matrix(corpus), options_.truncate_dim, owner);
        detail::check_rows(q_all, all_query_ids_.size(), "queries (one row per query id)", owner);
        detail::check_rows(c, corpus_ids_.size(), "corpus (one row per corpus id)", owner);
        if (queries.shape()[1] != corpus.shape()[1])
            tandem::detail::throw_error(owner, ": corpus: expected ", queries.shape()[1],
                                        " columns as the queries, found ", corpus.shape()[1]);
        Matrix q = xt::zeros<double>({kept_.size(), q_all.shape()[1]});
        for (std::size_t i = 0; i < kept_.size(); ++i) xt::row(q, i) = xt::row(q_all, kept_[i]);

        std::map<std::string, std::map<std::string, std::map<int, double>>> scores;
        for (const auto& name : names_)
            scores[name] = compute_metrics(rank(similarity_from_name(name, owner), q, c));

        if (context.output_path && options_.write_csv) write_csv(*context.output_path, scores, context);
        const int max_ndcg = *std::max_element(options_.ndcg_at_k.begin(), options_.ndcg_at_k.end());
        std::string best = names_.front();
        if (options_.main_score_function)
            best = similarity_name(similarity_from_name(*options_.main_score_function, owner));
        else
            for (const auto& n : names_)
                if (scores[n]["ndcg"][max_ndcg] > scores[best]["ndcg"][max_ndcg]) best = n;
        primary_metric_ =
            (options_.name.empty() ? "" : options_.name + "_") + best + "_ndcg@" + std::to_string(max_ndcg);
        Metrics metrics;
        for (const auto& [fn, by_metric] : scores)
            for (const auto& [metric, by_k] : by_metric)
                for (const auto& [k, v] : by_k) metrics[fn + "_" + metric + "@" + std::to_string(k)] = v;
        return prefix_name(metrics, options_.name);
    }

    std::string primary_metric() const { return primary_metric_; }
    bool greater_is_better() const { return true; }
    std::string csv_file() const {
        return "Information-Retrieval_evaluation" + (options_.name.empty() ? "" : "_" + options_.name) +
               "_results.csv";
    }

private:
    struct Hit {
        double score;
        std::size_t corpus;  // row in corpus_ids_
    };

    bool before(const Hit& a, const Hit& b) const {
        if (a.score != b.score) return a.score > b.score;
        return corpus_ids_[a.corpus] < corpus_ids_[b.corpus];
    }

    // The max_k best documents of each query under (-score, corpus id), one corpus chunk
    // at a time, so only a [queries, chunk] block of scores exists at once.
    std::vector<std::vector<Hit>> rank(Similarity fn, const Matrix& q, const Matrix& c) const {
        std::vector<std::vector<Hit>> hits(q.shape()[0]);
        auto order = [this](const Hit& a, const Hit& b) { return before(a, b); };
        for (std::size_t start = 0; start < c.shape()[0]; start += options_.corpus_chunk_size) {
            const std::size_t end = std::min(c.shape()[0], start + options_.corpus_chunk_size);
            const Matrix block = xt::view(c, xt::range(start, end), xt::all());
            const Matrix s = all_pairs_similarity(fn, q, block);
            for (std::size_t i = 0; i < q.shape()[0]; ++i) {
                std::vector<Hit> chunk;
                for (std::size_t j = 0; j < end - start; ++j) chunk.push_back({s(i, j), start + j});
                const std::size_t top = std::min(max_k_, chunk.size());
                std::partial_sort(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(top),
                                  chunk.end(), order);
                auto& h = hits[i];
                h.insert(h.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(top));
                std::sort(h.begin(), h.end(), order);
                if (h.size() > max_k_) h.resize(max_k_);
            }
        }
        return hits;
    }

    std::map<std::string, std::map<int, double>> compute_metrics(
        const std::vector<std::vector<Hit>>& hits) const {
        std::map<std::string, std::map<int, double>> out;
        const double n = static_cast<double>(kept_.size());
        auto mean_over_queries = [&](auto per_query) {
            double sum = 0;
            for (std::size_t i = 0; i < kept_.size(); ++i) sum += per_query(i);
            return sum / n;
        };
        auto relevant = [&](std::size_t i) -> const std::set<std::string>& {
            return relevant_docs_.at(all_query_ids_[kept_[i]]);
        };
        auto is_relevant = [&](std::size_t i, const Hit& h) {
            return relevant(i).count(corpus_ids_[h.corpus]) > 0;
        };
        auto top = [&](std::size_t i, int k) {
            return std::min<std::size_t>(hits[i].size(), std::size_t(k));
        };
        for (int k : options_.accuracy_at_k)
            out["accuracy"][k] = mean_over_queries([&](std::size_t i) {
                for (std::size_t r = 0; r < top(i, k); ++r)
                    if (is_relevant(i, hits[i][r])) return 1.0;
                return 0.0;
            });
        for (int k : options_.precision_recall_at_k) {
            auto correct = [&](std::size_t i) {
                double c = 0;
                for (std::size_t r = 0; r < top(i, k); ++r) c += is_relevant(i, hits[i][r]);
                return c;
            };
            out["precision"][k] = mean_over_queries([&](std::size_t i) { return correct(i) / k; });
            out["recall"][k] = mean_over_queries(
                [&](std::size_t i) { return correct(i) / static_cast<double>(relevant(i).size()); });
        }
        for (int k : options_.mrr_at_k)
            out["mrr"][k] = mean_over_queries([&](std::size_t i) {
                for (std::size_t r = 0; r < top(i, k); ++r)
                    if (is_relevant(i, hits[i][r])) return 1.0 / static_cast<double>(r + 1);
                return 0.0;
            });
        for (int k : options_.ndcg_at_k)
            out["ndcg"][k] = mean_over_queries([&](std::size_t i) {
                double dcg = 0, ideal = 0;
                for (std::size_t r = 0; r < top(i, k); ++r)
                    dcg += (is_relevant(i, hits[i][r]) ? 1.0 : 0.0) / std::log2(static_cast<double>(r + 2));
                for (std::size_t r = 0; r < std::min<std::size_t>(relevant(i).size(), std::size_t(k)); ++r)
                    ideal += 1.0 / std::log2(static_cast<double>(r + 2));
                return dcg / ideal;
            });
        for (int k : options_.map_at_k)
            out["map"][k] = mean_over_queries([&](std::size_t i) {
                double correct = 0, sum = 0;
                for (std::size_t r = 0; r < top(i, k); ++r)
                    if (is_relevant(i, hits[i][r])) sum += ++correct / static_cast<double>(r + 1);
                return sum / static_cast<double>(std::min<std::size_t>(std::size_t(k), relevant(i).size()));
            });
        return out;
    }

    void write_csv(const std::filesystem::path& folder,
                   std::map<std::string, std::map<std::string, std::map<int, double>>>& scores,
                   const EvalContext& context) const {
        std::vector<std::string> header = {"epoch", "steps"};
        std::vector<double> row;
        for (const auto& fn : names_) {
            auto& s = scores[fn];
            for (int k : options_.accuracy_at_k) {
                header.push_back(fn + "-Accuracy@" + std::to_string(k));
                row.push_back(s["accuracy"][k]);
            }
            for (int k : options_.precision_recall_at_k) {
                header.push_back(fn + "-Precision@" + std::to_string(k));
                row.push_back(s["precision"][k]);
                header.push_back(fn + "-Recall@" + std::to_string(k));
                row.push_back(s["recall"][k]);
            }
            for (int k : options_.mrr_at_k) {
                header.push_back(fn + "-MRR@" + std::to_string(k));
                row.push_back(s["mrr"][k]);
            }
            for (int k : options_.ndcg_at_k) {
                header.push_back(fn + "-NDCG@" + std::to_string(k));
                row.push_back(s["ndcg"][k]);
            }
            for (int k : options_.map_at_k) {
                header.push_back(fn + "-MAP@" + std::to_string(k));
                row.push_back(s["map"][k]);
            }
        }
        // This evaluator joins its rows by hand, with "\n".
        append_csv(folder, csv_file(), header, context.epoch, context.steps, row, "\n");
    }

    std::vector<std::string> all_query_ids_, corpus_ids_;
    std::map<std::string, std::set<std::string>> relevant_docs_;
    Options options_;
    std::vector<std::size_t> kept_;
    std::vector<std::string> names_;
    std::size_t max_k_ = 0;
    std::string primary_metric_;
};

}  // namespace tandem::eval
