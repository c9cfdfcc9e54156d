// What every evaluator shares: embeddings as host xtensor arrays (computed in double),
// the pairwise and all-pairs similarity functions of sentence_transformers.util
// (cosine, dot, negative euclidean and manhattan distances), Pearson and Spearman
// correlation as scipy.stats computes them, average precision and the Matthews
// correlation as scikit-learn does, and the CSV files sentence-transformers appends to,
// with numbers written as Python's str() writes them so the files compare byte for byte.
#pragma once

#include <tandem/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

namespace tandem::eval {

using Matrix = xt::xtensor<double, 2>;
using Metrics = std::map<std::string, double>;
// Embeddings by role ("queries", "corpus", "embeddings1", "anchors", ...): the keys of
// `tandem evaluate --embeddings KEY=FILE.npy`.
using EmbeddingSet = std::map<std::string, Matrix>;

// Where an evaluation runs: the folder for its CSV (none: no file) and the epoch and
// step written in each row (-1 when not training, as sentence-transformers writes).
struct EvalContext {
    std::optional<std::filesystem::path> output_path{};
    int epoch = -1;
    int steps = -1;
};

template <class T>
Matrix to_matrix(const xt::xtensor<T, 2>& e) {
    return xt::cast<double>(e);
}

namespace detail {

inline const Matrix& require(const EmbeddingSet& set, const std::string& key, const std::string& owner) {
    auto it = set.find(key);
    if (it == set.end()) {
        std::string found;
        for (const auto& [k, v] : set) found += (found.empty() ? "" : ", ") + k;
        tandem::detail::throw_error(owner, ": expected embeddings '", key, "', found ",
                                    found.empty() ? std::string("none") : found);
    }
    return it->second;
}

inline void check_rows(const Matrix& m, std::size_t rows, const std::string& what, const std::string& owner) {
    if (m.shape()[0] != rows)
        tandem::detail::throw_error(owner, ": ", what, ": expected ", rows, " rows, found ", m.shape()[0]);
}

inline void check_same_shape(const Matrix& a, const Matrix& b, const std::string& what_a,
                             const std::string& what_b, const std::string& owner) {
    if (a.shape() != b.shape())
        tandem::detail::throw_error(owner, ": ", what_b, ": expected the shape of ", what_a, " [",
                                    a.shape()[0], ", ", a.shape()[1], "], found [", b.shape()[0], ", ",
                                    b.shape()[1], "]");
}

// The first `dim` columns (sentence-transformers' truncate_dim, applied before any
// normalisation, as encode does).
inline Matrix truncate(const Matrix& m, std::optional<std::size_t> dim, const std::string& owner) {
    if (!dim) return m;
    if (*dim == 0 || *dim > m.shape()[1])
        tandem::detail::throw_error(owner, ": truncate_dim: expected 1 to ", m.shape()[1], ", found ", *dim);
    return xt::view(m, xt::all(), xt::range(0, *dim));
}

// torch.nn.functional.normalize: x / max(||x||, 1e-12), row by row.
inline Matrix normalize_rows(const Matrix& m) {
    Matrix out = m;
    for (std::size_t i = 0; i < m.shape()[0]; ++i) {
        double sq = 0;
        for (std::size_t j = 0; j < m.shape()[1]; ++j) sq += m(i, j) * m(i, j);
        const double norm = std::max(std::sqrt(sq), 1e-12);
        for (std::size_t j = 0; j < m.shape()[1]; ++j) out(i, j) = m(i, j) / norm;
    }
    return out;
}

}  // namespace detail

// The similarity functions by sentence-transformers' SimilarityFunction values.
enum class Similarity { Cosine, Dot, Euclidean, Manhattan };

inline Similarity similarity_from_name(const std::string& name, const std::string& owner) {
    if (name == "cosine" || name == "cos_sim") return Similarity::Cosine;
    if (name == "dot" || name == "dot_score") return Similarity::Dot;
    if (name == "euclidean") return Similarity::Euclidean;
    if (name == "manhattan") return Similarity::Manhattan;
    tandem::detail::throw_error(owner,
                                ": similarity function: expected one of cosine, dot, euclidean, manhattan ",
                                "(or cos_sim, dot_score), found '", name, "'");
}

// sentence-transformers' SimilarityFunction value of a function, for metric names.
inline std::string similarity_name(Similarity fn) {
    switch (fn) {
        case Similarity::Cosine:
            return "cosine";
        case Similarity::Dot:
            return "dot";
        case Similarity::Euclidean:
            return "euclidean";
        case Similarity::Manhattan:
            return "manhattan";
    }
    return {};
}

// Row i of a against row i of b (pairwise_cos_sim, pairwise_dot_score and the negative
// distances pairwise_euclidean_sim and pairwise_manhattan_sim).
inline std::vector<double> pairwise_similarity(Similarity fn, const Matrix& a, const Matrix& b) {
    const Matrix x = fn == Similarity::Cosine ? detail::normalize_rows(a) : a;
    const Matrix y = fn == Similarity::Cosine ? detail::normalize_rows(b) : b;
    std::vector<double> out(x.shape()[0]);
    for (std::size_t i = 0; i < out.size(); ++i) {
        double s = 0;
        for (std::size_t j = 0; j < x.shape()[1]; ++j) {
            const double d = x(i, j) - y(i, j);
            switch (fn) {
                case Similarity::Cosine:
                case Similarity::Dot:
                    s += x(i, j) * y(i, j);
                    break;
                case Similarity::Euclidean:
                    s += d * d;
                    break;
                case Similarity::Manhattan:
                    s += std::abs(d);
                    break;
            }
        }
        out[i] = fn == Similarity::Euclidean ? -std::sqrt(s) : fn == Similarity::Manhattan ? -s : s;
    }
    return out;
}

// Every row of a against every row of b: cos_sim (normalised) or dot_score. [na, nb]
// Each entry is one vectorised dot product rather than a blocked GEMM, so equal rows
// score exactly equal and the tie-breaking by id of the retrieval metrics holds.
inline Matrix all_pairs_similarity(Similarity fn, const Matrix& a, const Matrix& b) {
    if (fn != Similarity::Cosine && fn != Similarity::Dot)
        tandem::detail::throw_error("all_pairs_similarity: expected cosine or dot, found a distance");
    const Matrix x = fn == Similarity::Cosine ? detail::normalize_rows(a) : a;
    const Matrix y = fn == Similarity::Cosine ? detail::normalize_rows(b) : b;
    using Rows = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto nx = static_cast<Eigen::Index>(x.shape()[0]), ny = static_cast<Eigen::Index>(y.shape()[0]);
    const auto dim = static_cast<Eigen::Index>(x.shape()[1]);
    Matrix out = xt::zeros<double>({x.shape()[0], y.shape()[0]});
    const Eigen::Map<const Rows> X(x.data(), nx, dim), Y(y.data(), ny, dim);
    Eigen::Map<Rows> O(out.data(), nx, ny);
#pragma omp parallel for schedule(static) if (nx * ny * dim > (1 << 20))
    for (Eigen::Index i = 0; i < nx; ++i)
        for (Eigen::Index k = 0; k < ny; ++k) O(i, k) = X.row(i).dot(Y.row(k));
    return out;
}

// scipy.stats.pearsonr's statistic: centred, each side scaled to unit norm, clipped to [-1, 1].
inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const double n = static_cast<double>(x.size());
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
    double sxx = 0, syy = 0, sxy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (sxx == 0 || syy == 0) return std::nan("");  // scipy: a constant input has no correlation
    return std::clamp(sxy / (std::sqrt(sxx) * std::sqrt(syy)), -1.0, 1.0);
}

// Ranks from 1, ties sharing their average rank (scipy.stats.rankdata, method "average").
inline std::vector<double> average_ranks(const std::vector<double>& x) {
    std::vector<std::size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
    std::vector<double> ranks(x.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
        const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
        for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
        i = j + 1;
    }
    return ranks;
}

// scipy.stats.spearmanr: the Pearson correlation of the average ranks.
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
    return pearson(average_ranks(x), average_ranks(y));
}

// sklearn.metrics.average_precision_score for labels 0/1: the precision at each distinct
// score (highest first, ties together) weighted by the recall it adds.
inline double average_precision(const std::vector<int>& labels, const std::vector<double>& scores) {
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    const double positives = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
    if (positives == 0) return 0.0;
    double ap = 0, tp = 0, seen = 0, previous_recall = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        tp += labels[order[i]] == 1;
        seen += 1;
        if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]]) continue;
        const double recall = tp / positives;
        ap += (recall - previous_recall) * (tp / seen);
        previous_recall = recall;
    }
    return ap;
}

// sklearn.metrics.matthews_corrcoef for two 0/1 label vectors, in its integer form.
inline double matthews_corrcoef(const std::vector<int>& truth, const std::vector<int>& predicted) {
    std::int64_t c[2][2] = {{0, 0}, {0, 0}};
    for (std::size_t i = 0; i < truth.size(); ++i) ++c[truth[i]][predicted[i]];
    const std::int64_t t0 = c[0][0] + c[0][1], t1 = c[1][0] + c[1][1];
    const std::int64_t p0 = c[0][0] + c[1][0], p1 = c[0][1] + c[1][1];
    const std::int64_t n = t0 + t1, correct = c[0][0] + c[1][1];
    const double cov_ytyp = static_cast<double>(correct * n - (t0 * p0 + t1 * p1));
    const double cov_ypyp = static_cast<double>(n * n - (p0 * p0 + p1 * p1));
    const double cov_ytyt = static_cast<double>(n * n - (t0 * t0 + t1 * t1));
    if (cov_ypyp * cov_ytyt == 0) return 0.0;
    return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

// A double as Python's str() and csv.writer write it: the shortest digits that read
// back the same, in positional notation for exponents from -5 to 15 ("0.0001", "1.0"),
// otherwise as "1e-05", "1.5e+16"; "nan", "inf".
inline std::string python_float(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::scientific);
    const std::string s(buffer, result.ptr);
    const std::size_t e = s.find('e');
    const bool negative = s[0] == '-';
    std::string digits;
    for (std::size_t i = negative ? 1 : 0; i < e; ++i)
        if (s[i] != '.') digits += s[i];
    const int exponent = std::stoi(s.substr(e + 1));
    std::string out = negative ? "-" : "";
    if (exponent < -4 || exponent >= 16) {
        out += digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        const int a = std::abs(exponent);
        out += std::string(exponent < 0 ? "e-" : "e+") + (a < 10 ? "0" : "") + std::to_string(a);
        return out;
    }
    if (exponent < 0) return out + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    const std::size_t point = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= point) return out + digits + std::string(point - digits.size(), '0') + ".0";
    return out + digits.substr(0, point) + "." + digits.substr(point);
}

// Appends one row to `folder/file`, writing the header first when the file is new, as
// each sentence-transformers evaluator does (rows end in "\r\n" where it writes through
// csv.writer, "\n" where it joins by hand).
inline void append_csv(const std::filesystem::path& folder, const std::string& file,
                       const std::vector<std::string>& header, int epoch, int steps,
                       const std::vector<double>& values, const char* line_end = "\r\n") {
    std::filesystem::create_directories(folder);
    const auto path = folder / file;
    const bool exists = std::filesystem::exists(path);
    std::ofstream out(path, std::ios::binary | std::ios::app);
    if (!out) tandem::detail::throw_error(path.string(), ": cannot open for writing");
    if (!exists) {
        for (std::size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
        out << line_end;
    }
    out << epoch << "," << steps;
    for (double v : values) out << "," << python_float(v);
    out << line_end;
    if (!out) tandem::detail::throw_error(path.string(), ": write failed");
}

// sentence-transformers' prefix_name_to_metrics: "name_" before every key when named.
inline Metrics prefix_name(const Metrics& metrics, const std::string& name) {
    if (name.empty()) return metrics;
    Metrics out;
    for (const auto& [k, v] : metrics) out[name + "_" + k] = v;
    return out;
}

}  // namespace tandem::eval
