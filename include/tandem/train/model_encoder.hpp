// What the trainer asks of a model, and the adapter that turns one collated column of a
// batch into embeddings [batch, dim]: texts through encode_text, images through
// encode_image, and a mixed column through both, re-joined in row order. The same
// adapter serves a cached loss a few rows at a time (losses/concepts.hpp's ColumnEncoder).
// reference: sentence_transformers SentenceTransformer.forward on the features of one
// column (v6 routes each modality to its own module).
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/data/batch.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/nn/module.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace tandem {

// Represents: a model the trainer can train and checkpoint.
// Requires: a Module (Hugging Face names), parameters() giving its ParameterStore,
// save_pretrained(dir), and encode_text and/or encode_image giving [batch, dim].
// Ensures: training touches only parameters(); save_pretrained writes what a checkpoint
// folder needs to load the weights back by name.
template <class M>
concept EmbeddingModel = Module<M> &&
    (TextEncoderModel<M> || ImageEncoderModel<M>)&&requires(const M& m, const std::filesystem::path& dir) {
    { m.parameters() } -> std::same_as<ParameterStore<typename M::backend_type, typename M::value_type>&>;
    m.save_pretrained(dir);
};

namespace detail {

// Rows [begin, end) of a collated column, as a column of its own.
template <BackendMemory B>
typename data::Batch<B>::Input slice_input(const typename data::Batch<B>::Input& in, std::size_t begin,
                                           std::size_t end) {
    typename data::Batch<B>::Input out{in.name, {}, {}, std::nullopt, std::nullopt};
    // Positions of each part ascend, so the rows of [begin, end) are one run of each part.
    auto run = [&](const std::vector<std::size_t>& rows, std::vector<std::size_t>& kept) {
        std::size_t first = rows.size(), last = 0;
        for (std::size_t k = 0; k < rows.size(); ++k)
            if (rows[k] >= begin && rows[k] < end) {
                first = std::min(first, k);
                last = k + 1;
                kept.push_back(rows[k] - begin);
            }
        return std::pair<index_t, index_t>(static_cast<index_t>(kept.empty() ? 0 : first),
                                           static_cast<index_t>(kept.empty() ? 0 : last));
    };
    const auto [tb, te] = run(in.text_rows, out.text_rows);
    const auto [ib, ie] = run(in.image_rows, out.image_rows);
    if (!out.text_rows.empty()) {
        TextBatch<B> t;
        t.input_ids = in.text->input_ids.rows(tb, te);
        if (in.text->attention_mask.defined()) t.attention_mask = in.text->attention_mask.rows(tb, te);
        if (in.text->token_type_ids.defined()) t.token_type_ids = in.text->token_type_ids.rows(tb, te);
        t.prompt_length = in.text->prompt_length;
        out.text = std::move(t);
    }
    if (!out.image_rows.empty()) out.pixel_values = in.pixel_values->rows(ib, ie);
    return out;
}

}  // namespace detail

namespace detail {

// A column's pixel values in the model's scalar type.
template <Backend B, Scalar T>
Tensor<B, T> pixels_as(const Tensor<B, float>& pixel_values) {
    if constexpr (std::same_as<T, float>) {
        return pixel_values;
    } else {
        auto pixels = Tensor<B, T>::empty(pixel_values.shape());
        if (pixels.numel()) B::convert(pixels.data(), pixel_values.data(), pixels.numel());
        return pixels;
    }
}

// The column's rows back in batch order from its text part and its image part (either
// may be absent), texts first in the concatenation.
template <BackendMemory B, Scalar T>
Var<B, T> join_parts(const typename data::Batch<B>::Input& in, std::vector<Var<B, T>> parts) {
    if (parts.empty()) detail::throw_error("column '", in.name, "' of the batch has no rows");
    if (parts.size() == 1) return parts[0];
    const std::size_t n = in.text_rows.size() + in.image_rows.size();
    std::vector<std::int64_t> order(n);
    for (std::size_t k = 0; k < in.text_rows.size(); ++k)
        order[in.text_rows[k]] = static_cast<std::int64_t>(k);
    for (std::size_t k = 0; k < in.image_rows.size(); ++k)
        order[in.image_rows[k]] = static_cast<std::int64_t>(in.text_rows.size() + k);
    return gather_rows(concat(parts, 0), Ids<B>::from_vector(order, {static_cast<index_t>(n)}));
}

}  // namespace detail

// The embeddings [rows, dim] of one collated column, recorded on `g`.
template <EmbeddingModel M>
Var<typename M::backend_type, typename M::value_type> encode_column(
    const M& model, Graph<typename M::backend_type, typename M::value_type>& g,
    const typename data::Batch<typename M::backend_type>::Input& in) {
    using B = typename M::backend_type;
    using T = typename M::value_type;
    std::vector<Var<B, T>> parts;
    if (!in.text_rows.empty()) {
        if constexpr (TextEncoderModel<M>)
            parts.push_back(model.encode_text(g, *in.text));
        else
            detail::throw_error("column '", in.name, "' holds texts, but the model has no encode_text");
    }
    if (!in.image_rows.empty()) {
        if constexpr (ImageEncoderModel<M>)
            parts.push_back(model.encode_image(g, g.input(detail::pixels_as<B, T>(*in.pixel_values))));
        else
            detail::throw_error("column '", in.name, "' holds images, but the model has no encode_image");
    }
    return detail::join_parts<B, T>(in, std::move(parts));
}

// Represents: a model that gives one embedding per layer, for a layerwise loss
// (AdaptiveLayerLoss): encode_text_layers and/or encode_image_layers returning the
// embeddings [batch, dim] from every hidden state, the last being encode's
// (SentenceTransformerStack with Pooling after a BERT tower).
template <class M>
concept LayerwiseEncoderModel = EmbeddingModel<M> &&(LayerwiseTextModel<M> || LayerwiseImageModel<M>);

// One column's embeddings after every layer, [layers] of [rows, dim], recorded on `g`.
template <LayerwiseEncoderModel M>
std::vector<Var<typename M::backend_type, typename M::value_type>> encode_column_layers(
    const M& model, Graph<typename M::backend_type, typename M::value_type>& g,
    const typename data::Batch<typename M::backend_type>::Input& in) {
    using B = typename M::backend_type;
    using T = typename M::value_type;
    std::vector<std::vector<Var<B, T>>> parts;
    if (!in.text_rows.empty()) {
        if constexpr (LayerwiseTextModel<M>)
            parts.push_back(model.encode_text_layers(g, *in.text));
        else
            detail::throw_error("column '", in.name,
                                "' holds texts, but the model gives no text embeddings per layer");
    }
    if (!in.image_rows.empty()) {
        if constexpr (LayerwiseImageModel<M>)
            parts.push_back(model.encode_image_layers(g, g.input(detail::pixels_as<B, T>(*in.pixel_values))));
        else
            detail::throw_error("column '", in.name,
                                "' holds images, but the model gives no image embeddings per layer");
    }
    if (parts.size() == 2 && parts[0].size() != parts[1].size())
        detail::throw_error("column '", in.name, "' mixes texts and images, whose towers have ",
                            parts[0].size(), " and ", parts[1].size(),
                            " hidden states; a layerwise loss needs the same number");
    std::vector<Var<B, T>> layers;
    for (std::size_t l = 0; l < (parts.empty() ? 0 : parts[0].size()); ++l) {
        std::vector<Var<B, T>> at_layer;
        for (const auto& p : parts) at_layer.push_back(p[l]);
        layers.push_back(detail::join_parts<B, T>(in, std::move(at_layer)));
    }
    if (layers.empty()) detail::throw_error("column '", in.name, "' of the batch has no rows");
    return layers;
}

// Rows [begin, end) of column `column` of `batch`: what a cached loss's ColumnEncoder returns.
template <EmbeddingModel M>
Var<typename M::backend_type, typename M::value_type> encode_rows(
    const M& model, Graph<typename M::backend_type, typename M::value_type>& g,
    const data::Batch<typename M::backend_type>& batch, int column, index_t begin, index_t end) {
    if (column < 0 || static_cast<std::size_t>(column) >= batch.inputs.size())
        detail::throw_error("encode_rows: column ", column, " is outside the batch's ", batch.inputs.size(),
                            " columns");
    if (begin < 0 || end <= begin || static_cast<std::size_t>(end) > batch.size())
        detail::throw_error("encode_rows: rows [", begin, ", ", end, ") are outside the batch's ",
                            batch.size(), " rows");
    const auto& in = batch.inputs[static_cast<std::size_t>(column)];
    if (begin == 0 && static_cast<std::size_t>(end) == batch.size()) return encode_column(model, g, in);
    return encode_column(model, g,
                         detail::slice_input<typename M::backend_type>(in, static_cast<std::size_t>(begin),
                                                                       static_cast<std::size_t>(end)));
}

}  // namespace tandem
