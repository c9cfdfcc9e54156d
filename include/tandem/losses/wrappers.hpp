// Losses around other losses, and a regulariser: MatryoshkaLoss (an inner loss over
// truncated, re-normalised prefixes of the embeddings), AdaptiveLayerLoss (an inner loss
// over the embeddings after each layer, with a KL term pulling every layer towards the
// last), Matryoshka2dLoss (both), and GlobalOrthogonalRegularizationLoss (spreads a
// column's embeddings apart). The inner loss is held type-erased, so any EmbeddingLoss of
// any family can be wrapped.
// reference: sentence_transformers v6.3 losses/matryoshka.py, adaptive_layer.py,
// matryoshka_2d.py, global_orthogonal_regularization.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/rng.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// Any EmbeddingLoss behind one type, with the name its errors use. A held loss with
// learned parameters of its own (CLIPLoss's logit_scale, SoftmaxLoss's classifier) keeps
// them: own_parameters() points at them and clamp_logit_scale() reaches the held loss, so
// a trainer over the erased type trains them as it would the loss itself.
template <Backend B, Scalar T>
class AnyEmbeddingLoss {
public:
    using Function =
        std::function<Var<B, T>(Graph<B, T>&, const std::vector<Var<B, T>>&, const LossLabels<B, T>&)>;

    AnyEmbeddingLoss(std::string name, Function f) : name_(std::move(name)), f_(std::move(f)) {}

    template <class L>
    requires(EmbeddingLoss<L, B, T> &&
             !std::same_as<std::remove_cvref_t<L>, AnyEmbeddingLoss>) explicit AnyEmbeddingLoss(L loss)
        : name_(name_of(loss)) {
        auto held = std::make_shared<const L>(std::move(loss));
        f_ = [held](Graph<B, T>& g, const std::vector<Var<B, T>>& columns, const LossLabels<B, T>& labels) {
            return (*held)(g, columns, labels);
        };
        if constexpr (requires(Graph<B, T> & g, const std::vector<Var<B, T>>& c) {
                          { held->rows_loss(g, c, index_t{0}, index_t{0}) } -> std::same_as<Var<B, T>>;
                      })
            rows_ = [held](Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t begin,
                           index_t end) { return held->rows_loss(g, columns, begin, end); };
        if constexpr (requires { held->parameters(); }) parameters_ = &held->parameters();
        if constexpr (requires { held->clamp_logit_scale(); }) clamp_ = [held] { held->clamp_logit_scale(); };
    }

    std::string_view name() const { return name_; }
    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        return f_(g, columns, labels);
    }

    // Whether the held loss splits into the shares of its anchor rows (rows_loss, the
    // form data-parallel training gathers negatives for), and that share.
    bool splits_by_rows() const { return static_cast<bool>(rows_); }
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t begin,
                        index_t end) const {
        if (!rows_) detail::throw_error(name_, ": does not split by rows (no rows_loss)");
        return rows_(g, columns, begin, end);
    }

    // The held loss's own parameters, or null when it has none.
    ParameterStore<B, T>* own_parameters() const { return parameters_; }
    void clamp_logit_scale() const {
        if (clamp_) clamp_();
    }

private:
    template <class L>
    static std::string name_of(const L& loss) {
        if constexpr (requires { loss.name(); })
            return std::string(loss.name());
        else if constexpr (requires { L::name; })
            return std::string(L::name);
        else
            return "the inner loss";
    }

    std::string name_;
    Function f_;
    std::function<Var<B, T>(Graph<B, T>&, const std::vector<Var<B, T>>&, index_t, index_t)> rows_;
    ParameterStore<B, T>* parameters_ = nullptr;
    std::function<void()> clamp_;
};

namespace detail {
// k of the indices [0, n), drawn without replacement from `rng`, in increasing order; all
// of them when k <= 0 or k >= n. reference: random.sample(range(n), k).
inline std::vector<std::size_t> sample_indices(Philox rng, std::size_t n, int k) {
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    if (k <= 0 || static_cast<std::size_t>(k) >= n) return all;
    for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i)
        std::swap(all[i], all[i + rng.below(n - i, i)]);
    all.resize(static_cast<std::size_t>(k));
    std::sort(all.begin(), all.end());
    return all;
}
}  // namespace detail

struct MatryoshkaLossOptions {
    std::vector<index_t> matryoshka_dims;
    // One per dimension; 1 each when empty.
    std::vector<double> matryoshka_weights{};
    // How many dimensions each call trains, drawn from the graph's random streams; -1: all.
    int n_dims_per_step = -1;
};

// sum over the chosen d in matryoshka_dims of weight_d * inner(columns truncated to their
// first d values and L2-normalised, labels). Teacher embeddings in the labels ([batch,
// dim] or [batch, columns, dim], dim the columns' width) are truncated with them.
template <Backend B, Scalar T>
class MatryoshkaLoss {
public:
    using Options = MatryoshkaLossOptions;
    static constexpr const char* name = "MatryoshkaLoss";

    MatryoshkaLoss(AnyEmbeddingLoss<B, T> loss, Options options) : loss_(std::move(loss)) {
        if (options.matryoshka_dims.empty())
            detail::throw_error(name, ": you must provide at least one dimension in matryoshka_dims");
        for (index_t d : options.matryoshka_dims)
            if (d <= 0)
                detail::throw_error(name, ": every dimension in matryoshka_dims must be > 0, found ", d);
        if (options.matryoshka_weights.empty())
            options.matryoshka_weights.assign(options.matryoshka_dims.size(), 1.0);
        if (options.matryoshka_weights.size() != options.matryoshka_dims.size())
            detail::throw_error(name, ": matryoshka_weights must be the same length as matryoshka_dims; got ",
                                options.matryoshka_weights.size(), " weights for ",
                                options.matryoshka_dims.size(), " dimensions");
        // Largest first, each weight with its dimension, as sentence-transformers sorts them.
        std::vector<std::pair<index_t, double>> pairs;
        for (std::size_t i = 0; i < options.matryoshka_dims.size(); ++i)
            pairs.emplace_back(options.matryoshka_dims[i], options.matryoshka_weights[i]);
        std::stable_sort(pairs.begin(), pairs.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        options.matryoshka_dims.clear();
        options.matryoshka_weights.clear();
        for (const auto& [d, w] : pairs) {
            options.matryoshka_dims.push_back(d);
            options.matryoshka_weights.push_back(w);
        }
        options_ = std::move(options);
    }

    const Options& options() const { return options_; }
    const AnyEmbeddingLoss<B, T>& loss() const { return loss_; }

    // The indices into options().matryoshka_dims that a call drawing from `rng` trains.
    std::vector<std::size_t> chosen_dims(Philox rng) const {
        return detail::sample_indices(rng, options_.matryoshka_dims.size(), options_.n_dims_per_step);
    }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        const index_t width = check_columns(columns);
        Var<B, T> total;
        bool first = true;
        for (std::size_t i : chosen_dims(g.next_rng())) {
            const index_t d = options_.matryoshka_dims[i];
            std::vector<Var<B, T>> truncated;
            for (const auto& c : columns) truncated.push_back(l2_normalize(slice(c, 1, 0, d)));
            const auto term = scale(loss_(g, truncated, truncated_labels(g, labels, width, d)),
                                    T(options_.matryoshka_weights[i]));
            total = first ? term : add(total, term);
            first = false;
        }
        return total;
    }

private:
    index_t check_columns(const std::vector<Var<B, T>>& columns) const {
        if (columns.empty())
            detail::throw_error(name, ": needs at least 1 column of embeddings; got 0 columns");
        const Shape& s = columns[0].shape();
        if (s.rank() != 2) detail::throw_error(name, ": needs embeddings [batch, dim]; got shape ", s.str());
        for (index_t d : options_.matryoshka_dims)
            if (d > s[1])
                detail::throw_error(name, ": dimension ", d,
                                    " in matryoshka_dims cannot be greater than the embedding dimension ",
                                    s[1], " (embeddings ", s.str(), ")");
        return s[1];
    }

    static LossLabels<B, T> truncated_labels(Graph<B, T>& g, const LossLabels<B, T>& labels, index_t width,
                                             index_t d) {
        if (!labels.scores) return labels;
        const Shape& t = labels.scores->shape();
        if ((t.rank() != 2 && t.rank() != 3) || t.back() != width) return labels;
        NoGradGuard no_grad;
        LossLabels<B, T> out = labels;
        out.scores = slice(g.input(*labels.scores), -1, 0, d).value();
        return out;
    }

    AnyEmbeddingLoss<B, T> loss_;
    Options options_;
};

struct GlobalOrthogonalRegularizationLossOptions {
    SimilarityFunction similarity_fct = SimilarityFunction::cos_sim;
    // 0 leaves a term out (None in Python); at least one must be non-zero.
    double mean_weight = 1.0;
    double second_moment_weight = 1.0;
    enum class Aggregation { mean, sum } aggregation = Aggregation::mean;
};

// For each column's similarity matrix S without its diagonal: the mean term (mean S)^2
// and the second-moment term relu(mean S^2 - 1/dim), aggregated over the columns (mean or
// sum), weighted and added (sentence-transformers returns the two terms in a dict, which
// its trainer adds).
template <Backend B, Scalar T>
class GlobalOrthogonalRegularizationLoss {
public:
    using Options = GlobalOrthogonalRegularizationLossOptions;
    static constexpr const char* name = "GlobalOrthogonalRegularizationLoss";
    static constexpr LossInputs inputs{.min_columns = 1, .columns_meaning = "(input_1, ...)"};

    explicit GlobalOrthogonalRegularizationLoss(Options options = {}) : options_(options) {
        if (options_.mean_weight == 0 && options_.second_moment_weight == 0)
            detail::throw_error(name,
                                ": at least one of mean_weight or second_moment_weight must be non-zero");
    }

    const Options& options() const { return options_; }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        const index_t batch = columns[0].shape()[0], dim = columns[0].shape()[1];
        // A batch of one has no pairs: both terms are then a differentiable 0.
        const T pairs = T(std::max<index_t>(batch * (batch - 1), 1));
        auto off_diagonal = Tensor<B, T>::empty({batch, batch});
        B::fill_diagonal(off_diagonal.data(), batch, T(0), T(1));
        const auto keep = g.input(off_diagonal);
        std::vector<Var<B, T>> means, moments;
        for (const auto& c : columns) {
            const auto x = options_.similarity_fct == SimilarityFunction::cos_sim ? l2_normalize(c) : c;
            const auto s = mul(matmul(x, x, false, true), keep);
            const auto m = scale(sum(s), T(1) / pairs);
            means.push_back(reshape(mul(m, m), {1}));
            const auto second = scale(sum(mul(s, s)), T(1) / pairs);
            auto shift = g.input(Tensor<B, T>::full(Shape{}, T(1.0 / double(dim))));
            moments.push_back(reshape(relu(sub(second, shift)), {1}));
        }
        const T per_column = options_.aggregation == Options::Aggregation::sum
                                 ? T(1)
                                 : T(1) / T(static_cast<double>(columns.size()));
        Var<B, T> total;
        bool first = true;
        for (const auto& [weight, terms] :
             {std::pair{options_.mean_weight, &means}, std::pair{options_.second_moment_weight, &moments}}) {
            if (weight == 0) continue;
            const auto term = scale(scale(sum(concat(*terms, 0)), per_column), T(weight));
            total = first ? term : add(total, term);
            first = false;
        }
        return total;
    }

private:
    Options options_;
};

enum class LayerWeighting { uniform, log, linear };

struct AdaptiveLayerLossOptions {
    // How many of the layers before the last each call trains, drawn from the graph's
    // random streams; -1 (or anything >= their number): all.
    int n_layers_per_step = 1;
    double last_layer_weight = 1.0;
    double prior_layers_weight = 1.0;
    double kl_div_weight = 1.0;
    // 0 leaves the KL term out.
    double kl_temperature = 0.3;
    // Each prior layer's weight: 1, 1 / (1 + ln(1 + layer)) or 1 / (1 + layer).
    LayerWeighting layer_weighting = LayerWeighting::uniform;
};

// inner(last layer) * last_layer_weight
//   + sum over the chosen prior layers l of inner(layer l) * weight(l) / chosen * prior_layers_weight
//   + kl_div_weight * kl_temperature * KL(softmax(last / t) || softmax(layer l / t)) for each,
// the KL over the rows of every column stacked, batchmean, the last layer's side constant.
// Layers are hidden states in order: 0 is the embedding layer's output, the last is the
// model's output (the embeddings every other loss sees); each is pooled (and passed through
// the modules after the transformer) as the last one is.
template <Backend B, Scalar T>
class AdaptiveLayerLoss {
public:
    using Options = AdaptiveLayerLossOptions;

    AdaptiveLayerLoss(AnyEmbeddingLoss<B, T> loss, Options options,
                      std::string_view name = "AdaptiveLayerLoss")
        : loss_(std::move(loss)), options_(options), name_(name) {
        if (!(options_.kl_temperature >= 0))
            detail::throw_error(name_, ": kl_temperature must be >= 0, found ", options_.kl_temperature);
    }

    const Options& options() const { return options_; }
    std::string_view name() const { return name_; }

    double layer_weight(std::size_t layer) const {
        switch (options_.layer_weighting) {
            case LayerWeighting::log:
                return 1.0 / (1.0 + std::log(1.0 + double(layer)));
            case LayerWeighting::linear:
                return 1.0 / (1.0 + double(layer));
            case LayerWeighting::uniform:
                break;
        }
        return 1.0;
    }

    // The prior layers (indices into [0, layers - 1)) that a call drawing from `rng` trains.
    std::vector<std::size_t> chosen_layers(Philox rng, std::size_t layers) const {
        return detail::sample_indices(rng, layers == 0 ? 0 : layers - 1, options_.n_layers_per_step);
    }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<std::vector<Var<B, T>>>& layers,
                         const LossLabels<B, T>& labels) const {
        check_layers(layers);
        const auto& last = layers.back();
        auto total = scale(loss_(g, last, labels), T(options_.last_layer_weight));
        const double t = options_.kl_temperature;
        Tensor<B, T> target;
        if (t > 0) {
            NoGradGuard no_grad;
            target = softmax(scale(stacked(g, last), T(1.0 / t))).value();
        }
        const auto chosen = chosen_layers(g.next_rng(), layers.size());
        for (std::size_t l : chosen) {
            const double w = layer_weight(l) / double(chosen.size()) * options_.prior_layers_weight;
            total = add(total, scale(loss_(g, layers[l], labels), T(w)));
            if (t > 0)
                total = add(total,
                            scale(kl_div(g, stacked(g, layers[l]), target), T(t * options_.kl_div_weight)));
        }
        return total;
    }

private:
    void check_layers(const std::vector<std::vector<Var<B, T>>>& layers) const {
        if (layers.empty())
            detail::throw_error(name_, ": needs the embeddings after each layer; got no layers");
        for (std::size_t l = 0; l < layers.size(); ++l) {
            if (layers[l].size() != layers.back().size() || layers[l].empty())
                detail::throw_error(name_, ": every layer needs the same number of columns as the last (",
                                    layers.back().size(), "); layer ", l, " has ", layers[l].size());
            for (std::size_t c = 0; c < layers[l].size(); ++c)
                if (!(layers[l][c].shape() == layers.back()[c].shape()))
                    detail::throw_error(name_, ": column ", c, " is ", layers.back()[c].shape().str(),
                                        " after the last layer but ", layers[l][c].shape().str(),
                                        " after layer ", l);
        }
    }

    // Every column's rows, one after another.
    static Var<B, T> stacked(Graph<B, T>&, const std::vector<Var<B, T>>& columns) {
        return columns.size() == 1 ? columns[0] : concat(columns, 0);
    }

    // reference: F.kl_div(F.log_softmax(x / t), target, reduction="batchmean").
    Var<B, T> kl_div(Graph<B, T>& g, const Var<B, T>& x, const Tensor<B, T>& target) const {
        const index_t rows = x.shape()[0];
        const auto log_q = log_softmax(scale(x, T(1.0 / options_.kl_temperature)));
        Tensor<B, T> p_log_p;
        {
            NoGradGuard no_grad;
            const auto p = g.input(target);
            p_log_p = sum(mul(p, log(p))).value();
        }
        return scale(sub(g.input(p_log_p), sum(mul(g.input(target), log_q))), T(1) / T(rows));
    }

    AnyEmbeddingLoss<B, T> loss_;
    Options options_;
    std::string name_;
};

struct Matryoshka2dLossOptions {
    std::vector<index_t> matryoshka_dims;
    std::vector<double> matryoshka_weights{};
    int n_layers_per_step = 1;
    int n_dims_per_step = 1;
    double last_layer_weight = 1.0;
    double prior_layers_weight = 1.0;
    double kl_div_weight = 1.0;
    double kl_temperature = 0.3;
    LayerWeighting layer_weighting = LayerWeighting::uniform;
};

// AdaptiveLayerLoss over MatryoshkaLoss over the inner loss: every chosen layer at every
// chosen dimension. The KL term compares the layers at their full width.
template <Backend B, Scalar T>
class Matryoshka2dLoss : public AdaptiveLayerLoss<B, T> {
public:
    using Options = Matryoshka2dLossOptions;

    Matryoshka2dLoss(AnyEmbeddingLoss<B, T> loss, const Options& o)
        : AdaptiveLayerLoss<B, T>(AnyEmbeddingLoss<B, T>(MatryoshkaLoss<B, T>(
                                      std::move(loss), {.matryoshka_dims = o.matryoshka_dims,
                                                        .matryoshka_weights = o.matryoshka_weights,
                                                        .n_dims_per_step = o.n_dims_per_step})),
                                  {.n_layers_per_step = o.n_layers_per_step,
                                   .last_layer_weight = o.last_layer_weight,
                                   .prior_layers_weight = o.prior_layers_weight,
                                   .kl_div_weight = o.kl_div_weight,
                                   .kl_temperature = o.kl_temperature,
                                   .layer_weighting = o.layer_weighting},
                                  "Matryoshka2dLoss") {}
};

}  // namespace tandem
