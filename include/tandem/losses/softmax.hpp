// SoftmaxLoss: a linear classifier over the pair's features (u, v, |u - v|, u * v as
// configured, concatenated in that order) trained with cross-entropy against the class
// label, as SBERT trained on NLI. The classifier belongs to the loss; the trainer steps it
// with the model (parameters()), under PyTorch's names classifier.weight and classifier.bias.
// reference: sentence_transformers v6.3 sentence_transformer/losses/softmax.py.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/nn/linear.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace tandem {

struct SoftmaxLossOptions {
    index_t embedding_dimension = 0;
    index_t num_labels = 0;
    bool concatenation_sent_rep = true;
    bool concatenation_sent_difference = true;
    bool concatenation_sent_multiplication = false;
    // The classifier's nn.Linear default initialisation, U(+-1/sqrt(in)), from this seed.
    std::uint64_t seed = 0;
};

template <Backend B, Scalar T>
class SoftmaxLoss {
public:
    using Options = SoftmaxLossOptions;
    static constexpr const char* name = "SoftmaxLoss";
    static constexpr LossInputs inputs{
        .min_columns = 2, .max_columns = 2, .needs_labels = true, .columns_meaning = "(input_A, input_B)"};

    explicit SoftmaxLoss(const Options& options)
        : options_(options), store_(std::make_unique<ParameterStore<B, T>>()) {
        if (options.embedding_dimension <= 0 || options.num_labels <= 0)
            detail::throw_error(name, ": embedding_dimension and num_labels must be positive, found ",
                                options.embedding_dimension, " and ", options.num_labels);
        const index_t vectors = 2 * options.concatenation_sent_rep + options.concatenation_sent_difference +
                                options.concatenation_sent_multiplication;
        if (vectors == 0)
            detail::throw_error(name,
                                ": at least one of concatenation_sent_rep, concatenation_sent_difference or "
                                "concatenation_sent_multiplication must be true");
        classifier_ = std::make_unique<Linear<B, T>>(
            *store_, Scope("classifier"), vectors * options.embedding_dimension, options.num_labels);
        classifier_->reset_parameters(options.seed);
    }

    const Options& options() const { return options_; }
    ParameterStore<B, T>& parameters() const { return *store_; }

    // The classifier's logits [batch, num_labels] for the pair's embeddings.
    Var<B, T> logits(Graph<B, T>& g, const Var<B, T>& u, const Var<B, T>& v) const {
        const index_t dim = u.shape().rank() == 2 ? u.shape()[1] : 0;
        if (dim != options_.embedding_dimension || !(v.shape() == u.shape()))
            detail::throw_error(name, ": expected two columns of embeddings [batch, ",
                                options_.embedding_dimension, "] (embedding_dimension); got ",
                                u.shape().str(), " and ", v.shape().str());
        std::vector<Var<B, T>> features;
        if (options_.concatenation_sent_rep) {
            features.push_back(u);
            features.push_back(v);
        }
        if (options_.concatenation_sent_difference) features.push_back(abs(sub(u, v)));
        if (options_.concatenation_sent_multiplication) features.push_back(mul(u, v));
        return classifier_->forward(g, features.size() == 1 ? features[0] : concat(features, 1));
    }

    Var<B, T> operator()(Graph<B, T>& g, const std::vector<Var<B, T>>& columns,
                         const LossLabels<B, T>& labels) const {
        detail::check_loss_inputs<B, T>(name, inputs, columns, labels);
        if (!labels.labels)
            detail::throw_error(name, ": needs integer class labels in [0, ", options_.num_labels,
                                "); got float scores");
        const auto out = logits(g, columns[0], columns[1]);
        if (!(labels.labels->shape() == Shape{out.shape()[0]}))
            detail::throw_error(name, ": needs one class label per pair (", out.shape()[0], "); got ",
                                labels.labels->shape().str());
        return cross_entropy(out, *labels.labels);
    }

private:
    Options options_;
    std::unique_ptr<ParameterStore<B, T>> store_;
    std::unique_ptr<Linear<B, T>> classifier_;
};

}  // namespace tandem
