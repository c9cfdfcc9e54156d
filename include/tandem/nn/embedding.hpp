// Embedding: a lookup table of `num_embeddings` rows of width `dim`.
// reference: torch.nn.Embedding (name "weight"; init N(0, 1); padding_idx).
#pragma once

#include <tandem/autograd/ops/embedding.hpp>
#include <tandem/nn/init.hpp>
#include <tandem/nn/module.hpp>

#include <cstdint>
#include <optional>

namespace tandem {

template <Backend B, Scalar T>
class Embedding {
public:
    using backend_type = B;
    using value_type = T;

    // With `padding_idx`, forward never sends a gradient to that row (nn.Embedding's
    // padding_idx: the padding token's vector stays as loaded).
    Embedding(ParameterStore<B, T>& store, const Scope& scope, index_t num_embeddings, index_t dim,
              std::optional<std::int64_t> padding_idx = {})
        : store_(&store),
          weight_(store.add((scope / "weight").str(), {num_embeddings, dim})),
          padding_idx_(padding_idx) {
        if (padding_idx && (*padding_idx < 0 || *padding_idx >= num_embeddings))
            detail::throw_error(scope.str(), ": padding_idx ", *padding_idx, " is outside the table's ",
                                num_embeddings, " rows");
    }

    index_t num_embeddings() const { return store_->shape(weight_)[0]; }

    // Rows at `ids`, shaped [ids.shape..., dim]. Ids outside the table are a tandem::Error.
    Var<B, T> forward(Graph<B, T>& g, const Ids<B>& ids) const {
        return embedding(g.parameter(*store_, weight_), ids, padding_idx_);
    }
    // Rows [0, n): the embeddings of positions 0..n-1, without an id tensor.
    Var<B, T> first_rows(Graph<B, T>& g, index_t n) const {
        if (n > num_embeddings())
            detail::throw_error(store_->name(weight_), ": ", n, " positions exceed the table's ",
                                num_embeddings(), " rows");
        return slice(g.parameter(*store_, weight_), 0, 0, n);
    }
    Var<B, T> weight(Graph<B, T>& g) const { return g.parameter(*store_, weight_); }

    template <class F>
    void for_each_parameter(F&& f) const {
        f(store_->name(weight_), weight_);
    }

    void reset_parameters(double std, std::uint64_t seed) { init_normal(*store_, weight_, std, seed); }

private:
    ParameterStore<B, T>* store_;
    Parameter weight_;
    std::optional<std::int64_t> padding_idx_;
};

}  // namespace tandem
