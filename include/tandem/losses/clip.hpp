// The contrastive losses CLIP and SigLIP train with: on logits_per_text [n, n] whose
// diagonal holds the matching pairs (clip_loss, siglip_loss), and as losses over two
// embedding columns with their learned temperature (and bias) as parameters named as
// open_clip and transformers name them: CLIPLoss, SigLIPLoss. rows_loss gives the share of
// a few pairs, which dist/gathered_loss.hpp computes on each rank against every rank's pairs.
// reference: transformers clip_loss (modeling_clip), SiglipModel.forward's loss (v4.43);
// open_clip ClipLoss / SigLipLoss (loss.py), init_logit_scale / init_logit_bias
// (model.py), and the logit_scale clamp of open_clip_train's train_one_epoch.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/nn/init.hpp>

#include <cmath>
#include <memory>
#include <string_view>
#include <vector>

namespace tandem {

// (CE(logits_per_text, arange) + CE(logits_per_image, arange)) / 2.
template <Backend B, Scalar T>
Var<B, T> clip_loss(const Var<B, T>& logits_per_text) {
    const Shape& s = logits_per_text.shape();
    if (s.rank() != 2 || s[0] != s[1])
        detail::throw_error("clip_loss: expected square logits [n, n] (pair i matches pair i), found ",
                            s.str());
    const auto labels = arange<B>(s[0]);
    auto text_loss = cross_entropy(logits_per_text, labels);
    auto image_loss = cross_entropy(permute(logits_per_text, {1, 0}), labels);
    return scale(add(text_loss, image_loss), T(0.5));
}

// mean over texts of sum over images of -log sigmoid(z * logits), z = +1 on the diagonal, -1 elsewhere.
template <Backend B, Scalar T>
Var<B, T> siglip_loss(Graph<B, T>& g, const Var<B, T>& logits_per_text) {
    const Shape& s = logits_per_text.shape();
    if (s.rank() != 2 || s[0] != s[1])
        detail::throw_error("siglip_loss: expected square logits [n, n] (pair i matches pair i), found ",
                            s.str());
    auto z = Tensor<B, T>::empty(s);
    if (z.numel()) B::fill_diagonal(z.data(), s[0], T(1), T(-1));
    auto signed_logits = mul(logits_per_text, g.input(z));
    return scale(sum(log_sigmoid(signed_logits)), T(-1) / T(s[0]));
}

// The share of clip_loss over a batch of n pairs that pairs [begin, begin + m) contribute,
// from their rows of logits_per_text and of logits_per_image: the shares of any split of
// the pairs add up to clip_loss.   shapes: text_rows [m, n]; image_rows [m, n]
template <Backend B, Scalar T>
Var<B, T> clip_rows_loss(const Var<B, T>& text_rows, const Var<B, T>& image_rows, index_t begin) {
    const Shape& s = text_rows.shape();
    if (s.rank() != 2 || !(image_rows.shape() == s) || begin < 0 || begin + s[0] > s[1])
        detail::throw_error("clip_rows_loss: expected the rows [", begin, ", ", begin + (s.rank() ? s[0] : 0),
                            ") of both [n, n] logits, found ", s.str(), " and ", image_rows.shape().str());
    const auto labels = arange<B>(s[0], begin);
    auto both = add(cross_entropy(text_rows, labels), cross_entropy(image_rows, labels));
    return scale(both, T(0.5) * T(s[0]) / T(s[1]));
}

// The share of siglip_loss over a batch of n pairs that texts [begin, begin + m) contribute.
// shapes: text_rows [m, n]
template <Backend B, Scalar T>
Var<B, T> siglip_rows_loss(Graph<B, T>& g, const Var<B, T>& text_rows, index_t begin) {
    const Shape& s = text_rows.shape();
    if (s.rank() != 2 || begin < 0 || begin + s[0] > s[1])
        detail::throw_error("siglip_rows_loss: expected the rows [", begin, ", ",
                            begin + (s.rank() ? s[0] : 0), ") of [n, n] logits, found ", s.str());
    auto z = Tensor<B, T>::empty(s);
    if (z.numel()) B::fill_diagonal_blocks(z.data(), s[0], s[1], begin, s[1], T(1), T(-1));
    return scale(sum(log_sigmoid(mul(text_rows, g.input(z)))), T(-1) / T(s[1]));
}

namespace detail {
// The learned scalars of a dual-encoder loss: the model's own (CLIPModel and SiglipModel
// hold logit_scale and logit_bias) or, for towers without them, a store the loss owns,
// initialised as open_clip initialises a model trained from scratch.
template <Backend B, Scalar T>
class LogitParameters {
public:
    LogitParameters(bool with_bias, double init_scale, double init_bias)
        : owned_(std::make_unique<ParameterStore<B, T>>()), store_(owned_.get()) {
        scale_ = store_->add("logit_scale", {});
        if (with_bias) bias_ = store_->add("logit_bias", {});
        init_constant(*store_, scale_, init_scale);
        if (with_bias) init_constant(*store_, bias_, init_bias);
    }

    LogitParameters(std::string_view loss, bool with_bias, ParameterStore<B, T>& store) : store_(&store) {
        for (std::string_view name : {std::string_view("logit_scale"), std::string_view("logit_bias")}) {
            if (name == "logit_bias" && !with_bias) break;
            if (!store.contains(name))
                throw_error(loss, ": the model's parameters have no '", name,
                            "' (a CLIPModel or SiglipModel has it); construct the loss without a store to ",
                            "let it own one");
            if (store.shape(store.find(name)).numel() != 1)
                throw_error(loss, ": parameter '", name, "' must hold one value, found shape ",
                            store.shape(store.find(name)).str());
        }
        scale_ = store.find("logit_scale");
        if (with_bias) bias_ = store.find("logit_bias");
    }

    ParameterStore<B, T>& store() const { return *store_; }
    Parameter logit_scale() const { return scale_; }
    Parameter logit_bias() const { return bias_; }

    // exp(logit_scale) cos(a, b) (+ logit_bias).   shapes: a [n, d]; b [n, d]; out [n, n]
    Var<B, T> logits(Graph<B, T>& g, const Var<B, T>& a, const Var<B, T>& b) const {
        auto logits = mul(cosine_similarity(a, b), exp(g.parameter(*store_, scale_)));
        return bias_.index >= 0 ? add(logits, g.parameter(*store_, bias_)) : logits;
    }

    // logit_scale = min(max(logit_scale, 0), max_logit_scale), in place.
    void clamp_logit_scale(double max_logit_scale) const {
        auto v = store_->value(scale_);
        B::clamp(v.data(), v.data(), T(0), T(max_logit_scale), v.numel());
    }

private:
    std::unique_ptr<ParameterStore<B, T>> owned_;
    ParameterStore<B, T>* store_;
    Parameter scale_, bias_;
};

inline constexpr LossInputs pair_columns{
    .min_columns = 2, .max_columns = 2, .columns_meaning = "(text, image)"};
}  // namespace detail

struct CLIPLossOptions {
    // open_clip's init_logit_scale: log(1 / 0.07).
    double init_logit_scale = std::log(1 / 0.07);
    // clamp_logit_scale() bounds logit_scale to [0, log(100)], as open_clip does after each step.
    double max_logit_scale = std::log(100.0);
};

// The symmetric InfoNCE of CLIP over two columns (text, image) of embeddings, normalised
// here as CLIPModel.forward normalises them, at temperature exp(logit_scale).
template <Backend B, Scalar T>
class CLIPLoss {
public:
    static constexpr const char* name = "CLIPLoss";

    // The loss owns logit_scale (shape [], as open_clip's), set to options.init_logit_scale.
    explicit CLIPLoss(CLIPLossOptions options = {})
        : options_(options), params_(false, options.init_logit_scale, 0) {}
    // The model's own logit_scale (CLIPModel's) is read and trained.
    explicit CLIPLoss(ParameterStore<B, T>& model_parameters, CLIPLossOptions options = {})
        : options_(options), params_(name, false, model_parameters) {}

    // Where logit_scale lives: the optimizer steps this store too.
    ParameterStore<B, T>& parameters() const { return params_.store(); }
    Parameter logit_scale() const { return params_.logit_scale(); }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, detail::pair_columns, columns, labels);
        return clip_loss(params_.logits(g, columns[0], columns[1]));
    }

    // The share of the loss that pairs [begin, end) contribute (their texts against every
    // image, their images against every text): the loss of a batch gathered from several
    // ranks is the sum of each rank's share.
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t begin,
                        index_t end) const {
        detail::check_loss_inputs<B, T>(name, detail::pair_columns, columns, {});
        return clip_rows_loss(params_.logits(g, slice(columns[0], 0, begin, end), columns[1]),
                              params_.logits(g, slice(columns[1], 0, begin, end), columns[0]), begin);
    }

    // Call after each optimizer step, as open_clip's training loop does.
    void clamp_logit_scale() const { params_.clamp_logit_scale(options_.max_logit_scale); }

private:
    CLIPLossOptions options_;
    detail::LogitParameters<B, T> params_;
};

struct SigLIPLossOptions {
    // open_clip's SigLIP initialisation from scratch: logit_scale log(10), logit_bias -10.
    double init_logit_scale = std::log(10.0);
    double init_logit_bias = -10.0;
    double max_logit_scale = std::log(100.0);
};

// The pairwise sigmoid loss of SigLIP over two columns (text, image): every pair a binary
// classification, matching on the diagonal, at exp(logit_scale) cos + logit_bias.
template <Backend B, Scalar T>
class SigLIPLoss {
public:
    static constexpr const char* name = "SigLIPLoss";

    // The loss owns logit_scale and logit_bias (shape [], as open_clip's).
    explicit SigLIPLoss(SigLIPLossOptions options = {})
        : options_(options), params_(true, options.init_logit_scale, options.init_logit_bias) {}
    // The model's own logit_scale and logit_bias (SiglipModel's) are read and trained.
    explicit SigLIPLoss(ParameterStore<B, T>& model_parameters, SigLIPLossOptions options = {})
        : options_(options), params_(name, true, model_parameters) {}

    ParameterStore<B, T>& parameters() const { return params_.store(); }
    Parameter logit_scale() const { return params_.logit_scale(); }
    Parameter logit_bias() const { return params_.logit_bias(); }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels = {}) const {
        detail::check_loss_inputs<B, T>(name, detail::pair_columns, columns, labels);
        return siglip_loss(g, params_.logits(g, columns[0], columns[1]));
    }

    // The share of the loss that texts [begin, end) contribute, against every image.
    Var<B, T> rows_loss(Graph<B, T>& g, const std::vector<Var<B, T>>& columns, index_t begin,
                        index_t end) const {
        detail::check_loss_inputs<B, T>(name, detail::pair_columns, columns, {});
        return siglip_rows_loss(g, params_.logits(g, slice(columns[0], 0, begin, end), columns[1]), begin);
    }

    void clamp_logit_scale() const { params_.clamp_logit_scale(options_.max_logit_scale); }

private:
    SigLIPLossOptions options_;
    detail::LogitParameters<B, T> params_;
};

}  // namespace tandem
