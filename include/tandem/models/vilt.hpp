// Hugging Face ViLT: one pre-LN transformer over a text's BERT embeddings and an image's
// patch embeddings together (ViltModel), and the image-text matching head on its pooled
// text [CLS] token (ViltForImageAndTextRetrieval, a cross-encoder's model). Token layout,
// masks, the per-image resize of the position grid and the parameter names follow
// transformers 4.36 (see shared/data/models/README.md and vilt-tiny-itm's manifest).
// reference: transformers ViltEmbeddings (visual_embed), ViltLayer, ViltModel, ViltPooler,
// ViltForImageAndTextRetrieval.
#pragma once

#include <tandem/autograd/ops.hpp>
#include <tandem/core/text_batch.hpp>
#include <tandem/io/config/vilt.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/nn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tandem {

// A batch of images as ViltImageProcessor pads it: pixel_values [batch, channels, H, W]
// and pixel_mask [batch, H, W], 1 on an image's own pixels and 0 on the padding.
template <Backend B, Scalar T>
struct ViltImages {
    Var<B, T> pixel_values;
    Ids<B> pixel_mask;
};

namespace detail {

// Which patches of each image become tokens, and where their positions come from. The
// layout decides the shapes of the model's tensors, so it is worked out on the host
// from a copy of pixel_mask, as transformers does with .sum() and .nonzero() on it.
struct ViltPatchLayout {
    index_t grid_h = 0, grid_w = 0;  // the padded batch's patch grid
    index_t image_tokens = 0;        // tokens per image after its class token
    // [batch * image_tokens]: the row of [batch * grid_h * grid_w] patches each token
    // takes: an image's valid patches in row-major order, then its padding patches.
    std::vector<std::int64_t> select;
    // [batch * image_tokens]: 1 for a valid patch, 0 for padding.
    std::vector<std::int64_t> mask;
    // [batch * grid_h * grid_w, position_grid^2]: the bilinear (align_corners) weights
    // that resize the learned position grid to each image's valid patch rows and columns;
    // zero rows on the padding.
    std::vector<double> position_weights;
};

// One axis of torch's bilinear resize with align_corners=True from `in` to `out` points:
// for each output point, its two source points and the weight of the second.
struct LinearTap {
    index_t lo, hi;
    double weight_hi;
};
inline std::vector<LinearTap> align_corners_taps(index_t in, index_t out) {
    std::vector<LinearTap> taps;
    const double step = out > 1 ? double(in - 1) / double(out - 1) : 0.0;
    for (index_t i = 0; i < out; ++i) {
        const double source = step * double(i);
        const auto lo = std::min(static_cast<index_t>(source), in - 1);
        taps.push_back({lo, std::min(lo + 1, in - 1), std::clamp(source - double(lo), 0.0, 1.0)});
    }
    return taps;
}

// pixel_mask [batch, H, W] on the host; H and W multiples of `patch`. A patch is valid
// when the mask is 1 at its top-left pixel (torch's nearest resize of the mask to the
// patch grid); the image's valid rows and columns are counted down column 0 and along row 0.
inline ViltPatchLayout vilt_patch_layout(const std::vector<std::int64_t>& pixel_mask, index_t batch,
                                         index_t height, index_t width, index_t patch,
                                         index_t position_grid) {
    ViltPatchLayout layout;
    layout.grid_h = height / patch;
    layout.grid_w = width / patch;
    const index_t cells = layout.grid_h * layout.grid_w, positions = position_grid * position_grid;
    std::vector<std::vector<std::int64_t>> valid(batch), padding(batch);
    layout.position_weights.assign(static_cast<std::size_t>(batch * cells * positions), 0.0);
    for (index_t b = 0; b < batch; ++b) {
        const auto is_valid = [&](index_t i, index_t j) {
            return pixel_mask[static_cast<std::size_t>((b * height + i * patch) * width + j * patch)] != 0;
        };
        index_t rows = 0, columns = 0;
        for (index_t i = 0; i < layout.grid_h; ++i) rows += is_valid(i, 0);
        for (index_t j = 0; j < layout.grid_w; ++j) columns += is_valid(0, j);
        if (rows == 0 || columns == 0)
            throw_error("ViltModel: pixel_mask of image ", b, " covers no patch (", rows, " valid rows, ",
                        columns, " valid columns of ", patch, "-pixel patches)");
        for (index_t i = 0; i < layout.grid_h; ++i)
            for (index_t j = 0; j < layout.grid_w; ++j)
                (is_valid(i, j) ? valid : padding)[b].push_back(b * cells + i * layout.grid_w + j);
        layout.image_tokens = std::max(layout.image_tokens, static_cast<index_t>(valid[b].size()));
        const auto ys = align_corners_taps(position_grid, rows),
                   xs = align_corners_taps(position_grid, columns);
        for (index_t i = 0; i < rows; ++i)
            for (index_t j = 0; j < columns; ++j) {
                double* row =
                    layout.position_weights.data() + (b * cells + i * layout.grid_w + j) * positions;
                const auto &y = ys[i], &x = xs[j];
                row[y.lo * position_grid + x.lo] += (1 - y.weight_hi) * (1 - x.weight_hi);
                row[y.lo * position_grid + x.hi] += (1 - y.weight_hi) * x.weight_hi;
                row[y.hi * position_grid + x.lo] += y.weight_hi * (1 - x.weight_hi);
                row[y.hi * position_grid + x.hi] += y.weight_hi * x.weight_hi;
            }
    }
    // Images with fewer valid patches than the batch's most are filled with padding
    // patches, masked as keys (transformers picks them at random; all are alike).
    for (index_t b = 0; b < batch; ++b) {
        const auto fill = static_cast<std::size_t>(layout.image_tokens) - valid[b].size();
        for (const auto id : valid[b]) layout.select.push_back(id), layout.mask.push_back(1);
        for (std::size_t k = 0; k < fill; ++k)
            layout.select.push_back(padding[b][k]), layout.mask.push_back(0);
    }
    return layout;
}

inline TransformerSizes vilt_sizes(const io::ViltConfig& c) {
    return {c.hidden_size,        c.num_attention_heads,
            c.intermediate_size,  activation_from_name(c.hidden_act),
            c.layer_norm_eps,     c.attention_probs_dropout_prob,
            c.hidden_dropout_prob};
}

// ViltLayer's names: a ViT block with BERT's attention and feed-forward names.
inline PreLNLayout vilt_layer_layout() {
    return {.layer_norm1 = "layernorm_before",
            .attention = "attention",
            .attention_names = {"attention.query", "attention.key", "attention.value", "output.dense"},
            .layer_norm2 = "layernorm_after",
            .mlp_names = {"intermediate.dense", "output.dense"}};
}

}  // namespace detail

template <Backend B, Scalar T>
struct ViltOutput {
    // [batch, text + 1 + image tokens, hidden]: the encoder's input, then its output
    // after the final layernorm. Text tokens first, then the image class token, then the
    // image tokens (valid patches in row-major order, then padding).
    Var<B, T> embeddings, last_hidden_state;
    Ids<B> attention_mask;    // [batch, tokens]: the text mask, 1, the image tokens' validity
    Var<B, T> pooler_output;  // [batch, hidden], tanh(dense(last_hidden_state[:, 0]))
};

// ViltModel's layers on a shared ParameterStore under `scope` ("vilt" inside
// ViltForImageAndTextRetrieval).
template <Backend B, Scalar T>
class ViltTower {
public:
    using backend_type = B;
    using value_type = T;

    ViltTower(ParameterStore<B, T>& store, const Scope& scope, const io::ViltConfig& c)
        : store_(&store),
          position_grid_(c.position_grid()),
          patch_(c.patch_size),
          dropout_(T(c.hidden_dropout_prob)),
          text_embeddings_(store, scope / "embeddings" / "text_embeddings",
                           BertEmbeddingOptions{.vocab_size = c.vocab_size,
                                                .hidden_size = c.hidden_size,
                                                .max_position_embeddings = c.max_position_embeddings,
                                                .type_vocab_size = c.type_vocab_size,
                                                .layer_norm_eps = c.layer_norm_eps,
                                                .dropout = c.hidden_dropout_prob,
                                                .pad_token_id = c.pad_token_id,
                                                .model = "ViltModel"}),
          patch_embeddings_(store, scope / "embeddings" / "patch_embeddings" / "projection", c.num_channels,
                            c.patch_size, c.hidden_size, true),
          cls_token_(store.add((scope / "embeddings" / "cls_token").str(), {1, 1, c.hidden_size})),
          position_embeddings_(store.add((scope / "embeddings" / "position_embeddings").str(),
                                         {1, position_grid_ * position_grid_ + 1, c.hidden_size})),
          modality_embeddings_(store, scope / "embeddings" / "token_type_embeddings",
                               c.modality_type_vocab_size, c.hidden_size),
          encoder_(store, scope / "encoder" / "layer", c.num_hidden_layers, detail::vilt_sizes(c),
                   detail::vilt_layer_layout()),
          layernorm_(store, scope / "layernorm", c.hidden_size, c.layer_norm_eps),
          pooler_(store, scope / "pooler" / "dense", c.hidden_size, c.hidden_size) {}

    ViltOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text, const ViltImages<B, T>& images) const {
        text.check("ViltModel");
        const Shape& s = images.pixel_values.shape();
        const Shape& m = images.pixel_mask.shape();
        if (s.rank() != 4 || m.rank() != 3 || m[0] != s[0] || m[1] != s[2] || m[2] != s[3] ||
            s[0] != text.batch())
            detail::throw_error("ViltModel: expected pixel_values [", text.batch(),
                                ", channels, H, W] and pixel_mask [", text.batch(), ", H, W], found ",
                                s.str(), " and ", m.str());
        auto patches = patch_embeddings_.forward(g, images.pixel_values);
        const auto layout = detail::vilt_patch_layout(images.pixel_mask.to_vector(), s[0], s[2], s[3], patch_,
                                                      position_grid_);
        const index_t batch = s[0], hidden = patches.shape()[2], positions = position_grid_ * position_grid_;
        const index_t cells = batch * layout.grid_h * layout.grid_w;

        auto table = reshape(g.parameter(*store_, position_embeddings_), {positions + 1, hidden});
        const std::vector<T> weights(layout.position_weights.begin(), layout.position_weights.end());
        auto spatial = matmul(g.input(Tensor<B, T>::from_vector(weights, {cells, positions})),
                              slice(table, 0, 1, positions + 1));
        auto tokens = gather_rows(add(reshape(patches, {cells, hidden}), spatial),
                                  Ids<B>::from_vector(layout.select, {batch * layout.image_tokens}));
        auto cls = add(reshape(g.parameter(*store_, cls_token_), {hidden}),
                       reshape(slice(table, 0, 0, 1), {hidden}));
        auto image = concat<B, T>({add(g.input(Tensor<B, T>::zeros({batch, 1, hidden})), cls),
                                   reshape(tokens, {batch, layout.image_tokens, hidden})},
                                  1);
        image = add(dropout(image, dropout_), modality(g, 1));
        auto embeddings = concat<B, T>({add(text_embeddings_.forward(g, text), modality(g, 0)), image}, 1);

        const auto mask = attention_mask(text, layout);
        AttentionOptions<B, T> options;
        options.key_mask = mask;
        auto last = layernorm_.forward(g, encoder_.forward(g, embeddings, options));
        return {embeddings, last, mask, tanh(pooler_.forward(g, pool_cls(last)))};
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        text_embeddings_.for_each_parameter(f);
        patch_embeddings_.for_each_parameter(f);
        f(store_->name(cls_token_), cls_token_);
        f(store_->name(position_embeddings_), position_embeddings_);
        modality_embeddings_.for_each_parameter(f);
        encoder_.for_each_parameter(f);
        layernorm_.for_each_parameter(f);
        pooler_.for_each_parameter(f);
    }

private:
    // The row of token_type_embeddings that marks a token as text (0) or image (1).
    Var<B, T> modality(Graph<B, T>& g, index_t type) const {
        const auto table = modality_embeddings_.weight(g);
        return reshape(slice(table, 0, type, type + 1), {table.shape()[1]});
    }

    // The text's mask (all ones without one), 1 for the image class token, then the
    // image tokens' validity.
    static Ids<B> attention_mask(const TextBatch<B>& text, const detail::ViltPatchLayout& layout) {
        const index_t batch = text.batch(), length = text.length(), image = layout.image_tokens;
        const auto text_mask = text.attention_mask.defined() ? text.attention_mask.to_vector()
                                                             : std::vector<std::int64_t>(batch * length, 1);
        std::vector<std::int64_t> mask;
        mask.reserve(static_cast<std::size_t>(batch * (length + 1 + image)));
        for (index_t b = 0; b < batch; ++b) {
            mask.insert(mask.end(), text_mask.begin() + b * length, text_mask.begin() + (b + 1) * length);
            mask.push_back(1);
            mask.insert(mask.end(), layout.mask.begin() + b * image, layout.mask.begin() + (b + 1) * image);
        }
        return Ids<B>::from_vector(mask, {batch, length + 1 + image});
    }

    ParameterStore<B, T>* store_;
    index_t position_grid_, patch_;
    T dropout_;
    BertEmbeddings<B, T> text_embeddings_;
    PatchEmbedding<B, T> patch_embeddings_;
    Parameter cls_token_, position_embeddings_;
    Embedding<B, T> modality_embeddings_;
    TransformerStack<PreLNBlock<B, T>> encoder_;
    LayerNorm<B, T> layernorm_;
    Linear<B, T> pooler_;
};

template <Backend B, Scalar T>
struct ImageTextMatchingOutput {
    ViltOutput<B, T> vilt;
    Var<B, T> logits;  // [batch, 1]: the match score; sigmoid(logits) is a CrossEncoder's predict()
};

// transformers.ViltForImageAndTextRetrieval: "vilt." + ViltModel, then
// rank_output(pooler_output). A ViltModel checkpoint (no "rank_output.*", such as a
// pre-training one) starts a new head as transformers does: weight N(0,
// initializer_range^2) from from_pretrained's seed, bias 0, listed in
// load_report().newly_initialized.
template <Backend B, Scalar T>
class ViltForImageAndTextRetrieval
    : public PretrainedModel<ViltForImageAndTextRetrieval<B, T>, B, T, io::ViltConfig> {
    using Base = PretrainedModel<ViltForImageAndTextRetrieval<B, T>, B, T, io::ViltConfig>;

public:
    static constexpr const char* architecture = "ViltForImageAndTextRetrieval";
    static constexpr const char* base_model_prefix = "vilt";
    static constexpr const char* head_prefix = "rank_output.";

    explicit ViltForImageAndTextRetrieval(const io::ViltConfig& config)
        : Base(config),
          vilt_(*this->store_, Scope(base_model_prefix), config),
          rank_output_(*this->store_, Scope("rank_output"), config.hidden_size, 1) {}

    // One matching logit per pair, whatever the config's id2label says.
    index_t num_labels() const { return 1; }

    void reset_head(std::uint64_t seed) {
        rank_output_.reset_parameters_normal(this->config_.initializer_range, seed);
    }

    ImageTextMatchingOutput<B, T> forward(Graph<B, T>& g, const TextBatch<B>& text,
                                          const ViltImages<B, T>& images) const {
        auto out = vilt_.forward(g, text, images);
        return {out, rank_output_.forward(g, out.pooler_output)};
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        vilt_.for_each_parameter(f);
        rank_output_.for_each_parameter(f);
    }

private:
    ViltTower<B, T> vilt_;
    Linear<B, T> rank_output_;
};

}  // namespace tandem
