// PooledTower: a text tower's token states pooled into one vector per text, as
// sentence-transformers' [Transformer, Pooling] pair computes an embedding; with it a
// BertTower (or a CLIP / SigLIP text tower) plus any Pooling mode is an EncoderTower.
// reference: sentence_transformers.SentenceTransformer([models.Transformer, models.Pooling]).
#pragma once

#include <tandem/core/text_batch.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/nn/pooling_layer.hpp>

#include <concepts>
#include <utility>

namespace tandem {

// Represents: a text tower whose forward(graph, TextBatch) output holds the token
// states [batch, tokens, dim] as last_hidden_state (BertTower, the CLIP and SigLIP text towers).
template <class Tower>
concept TokenStateTower = Module<Tower> &&
    requires(const Tower& t, Graph<typename Tower::backend_type, typename Tower::value_type>& g,
             const TextBatch<typename Tower::backend_type>& text) {
    {
        t.forward(g, text).last_hidden_state
        } -> std::convertible_to<Var<typename Tower::backend_type, typename Tower::value_type>>;
};

template <class Tower>
class PooledTower {
    static_assert(TokenStateTower<Tower>,
                  "PooledTower: the tower must be a Module whose forward(graph, TextBatch) returns "
                  "last_hidden_state");

public:
    using backend_type = typename Tower::backend_type;
    using value_type = typename Tower::value_type;
    using B = backend_type;
    using T = value_type;

    PooledTower(Tower tower, Pooling<B, T> pooling) : tower_(std::move(tower)), pooling_(pooling) {}

    const Tower& tower() const { return tower_; }
    const Pooling<B, T>& pooling() const { return pooling_; }

    // [batch, dim]; padding (attention_mask 0) takes no part in mean, max and lasttoken.
    Var<B, T> encode(Graph<B, T>& g, const TextBatch<B>& text) const {
        return pooling_.forward(g, tower_.forward(g, text).last_hidden_state, text.attention_mask);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        tower_.for_each_parameter(f);
    }

private:
    Tower tower_;
    Pooling<B, T> pooling_;
};

}  // namespace tandem
