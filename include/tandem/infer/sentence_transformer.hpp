// SentenceTransformer: a model with its tokenizer, image processor and folder settings,
// for inference: encode texts, images (paths, bytes or decoded pixels) or a mix of both,
// in batches sorted by length (less padding) with results in input order, without
// keeping activations; and the similarity the model was trained with. encode is const
// and keeps its state on the stack, so threads may call it at once.
// reference: sentence_transformers.SentenceTransformer.encode / similarity (v6).
#pragma once

#include <tandem/backend/xtensor.hpp>
#include <tandem/core/error.hpp>
#include <tandem/data/batch.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/eval/metrics.hpp>
#include <tandem/infer/load.hpp>
#include <tandem/infer/quantize.hpp>
#include <tandem/infer/save.hpp>
#include <tandem/io/st_folder.hpp>
#include <tandem/models/any_model.hpp>
#include <tandem/train/model_encoder.hpp>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

struct EncodeOptions {
    std::size_t batch_size = 32;
    // Each embedding divided by max(||x||, 1e-12), after truncation.
    bool normalize_embeddings = false;
    // Keep the first dimensions only (a Matryoshka model); default: the folder's truncate_dim.
    std::optional<std::size_t> truncate_dim;
    // Text put before every text: `prompt` itself, or the folder's prompt named
    // `prompt_name`; neither: the folder's default_prompt_name, if any.
    std::optional<std::string> prompt;
    std::optional<std::string> prompt_name;
    // "Batches k/n" on stderr.
    bool show_progress_bar = false;
};

// An input of an encode call failed (an image that does not decode): which one, and the
// embeddings of the batches encoded before it, so that nothing computed is lost.
class EncodeError : public Error {
public:
    EncodeError(const std::string& message, std::size_t index, xt::xtensor<float, 2> partial,
                std::vector<bool> computed)
        : Error(message), index_(index), partial_(std::move(partial)), computed_(std::move(computed)) {}

    // The failing input's position in the call.
    std::size_t index() const { return index_; }
    // [inputs, dim] (empty when no batch was encoded); row i is valid where computed()[i].
    const xt::xtensor<float, 2>& partial() const { return partial_; }
    const std::vector<bool>& computed() const { return computed_; }

private:
    std::size_t index_;
    xt::xtensor<float, 2> partial_;
    std::vector<bool> computed_;
};

template <Backend B, class M = AnyEmbeddingModel<B, float>>
requires EmbeddingModel<M> && std::same_as<typename M::backend_type, B>
class SentenceTransformer {
public:
    using T = typename M::value_type;

    SentenceTransformer(M model, data::Collator collator, io::StModelConfig config = {})
        : model_(std::move(model)), collator_(std::move(collator)), config_(std::move(config)) {
        similarity_ = eval::similarity_from_name(config_.similarity_fn_name, "similarity_fn_name");
    }

    // SentenceTransformer(path): any sentence-transformers layout, or a bare Hugging Face folder.
    static SentenceTransformer load(
        const std::filesystem::path& dir) requires std::same_as<M, AnyEmbeddingModel<B, T>> {
        const auto folder = io::StFolder::open(dir);
        auto loaded = load_model<B, T>(folder);
        return SentenceTransformer(std::move(loaded.model), std::move(loaded.collator), folder.config);
    }

    // The model as a sentence-transformers folder (v6 layout) that sentence-transformers
    // and load() read back: weights, tokenizer, processor, settings and a model card.
    void save(const std::filesystem::path& dir, const ModelCardData& card = {}) const {
        detail::save_sentence_transformer(
            dir,
            [&](const std::filesystem::path& d) {
                if constexpr (std::same_as<M, AnyEmbeddingModel<B, T>>)
                    return model_.save_st_modules(d);
                else
                    return save_st_modules(model_, d);
            },
            collator_, config_, card, encodes_text(), encodes_image());
    }

    const M& model() const { return model_; }
    const data::Collator& collator() const { return collator_; }
    const io::StModelConfig& config() const { return config_; }
    const std::string& similarity_fn_name() const { return config_.similarity_fn_name; }

    // Embeddings [inputs, dim], float32, in input order.
    xt::xtensor<float, 2> encode(const std::vector<std::string>& texts, const EncodeOptions& o = {}) const {
        return encode(data::Column("inputs", texts), o);
    }
    xt::xtensor<float, 2> encode(const std::vector<data::ImageRef>& images,
                                 const EncodeOptions& o = {}) const {
        return encode(data::Column("inputs", images), o);
    }
    // Image files by path (a string is a text, as in sentence-transformers).
    xt::xtensor<float, 2> encode(const std::vector<std::filesystem::path>& images,
                                 const EncodeOptions& o = {}) const {
        std::vector<data::ImageRef> refs;
        for (const auto& p : images) refs.emplace_back(data::ImageFile{p});
        return encode(refs, o);
    }
    // Texts and images mixed, each through its own tower.
    xt::xtensor<float, 2> encode(const std::vector<data::Cell>& inputs, const EncodeOptions& o = {}) const {
        return encode(data::Column("inputs", inputs), o);
    }
    xt::xtensor<float, 2> encode(const data::Column& inputs, const EncodeOptions& o = {}) const {
        if (o.batch_size == 0) detail::throw_error("encode: batch_size must be at least 1, found 0");
        const std::size_t n = inputs.size();
        if (n == 0) return xt::xtensor<float, 2>::from_shape({0, 0});
        const data::Collator collator = with_prompt(o);
        const data::Dataset d({inputs});
        const auto order = longest_first(inputs);
        const auto truncate = o.truncate_dim ? o.truncate_dim : config_.truncate_dim;
        xt::xtensor<float, 2> out;
        std::vector<bool> computed(n, false);
        const std::size_t batches = (n + o.batch_size - 1) / o.batch_size;
        for (std::size_t b = 0; b < batches; ++b) {
            const std::vector<std::size_t> rows(
                order.begin() + std::ptrdiff_t(b * o.batch_size),
                order.begin() + std::ptrdiff_t(std::min(n, (b + 1) * o.batch_size)));
            const auto host = collate(collator, d, rows, out, computed);
            auto e = embed(data::Batch<B>::from_host(host).inputs[0], truncate, o.normalize_embeddings);
            if (out.size() == 0) out = xt::zeros<float>({n, e.shape(1)});
            for (std::size_t k = 0; k < rows.size(); ++k) {
                xt::view(out, rows[k], xt::all()) = xt::view(e, k, xt::all());
                computed[rows[k]] = true;
            }
            if (o.show_progress_bar) std::fprintf(stderr, "\rBatches %zu/%zu", b + 1, batches);
        }
        if (o.show_progress_bar) std::fprintf(stderr, "\n");
        return out;
    }

    // encode(..., precision=...): the embeddings quantised as quantize_embeddings does,
    // int8 and uint8 by the ranges of this call's own embeddings unless `q` gives some.
    template <class Inputs>
    requires requires(const SentenceTransformer& m, const Inputs& in) { m.encode(in); }
    QuantizedEmbeddings encode_quantized(const Inputs& inputs, const std::string& precision,
                                         const EncodeOptions& o = {}, const QuantizeOptions& q = {}) const {
        return quantize_embeddings(encode(inputs, o), precision, q);
    }

    // encode with the folder's "query" / "document" prompt when it has one.
    xt::xtensor<float, 2> encode_query(const std::vector<std::string>& texts, EncodeOptions o = {}) const {
        return encode(texts, with_task_prompt(std::move(o), {"query"}));
    }
    xt::xtensor<float, 2> encode_document(const std::vector<std::string>& texts, EncodeOptions o = {}) const {
        return encode(texts, with_task_prompt(std::move(o), {"document", "passage", "corpus"}));
    }

    // [a rows, b rows] by the model's similarity_fn_name (cosine, dot, euclidean as minus
    // the distance, manhattan likewise).
    xt::xtensor<float, 2> similarity(const xt::xtensor<float, 2>& a, const xt::xtensor<float, 2>& b) const {
        check_widths(a, b, "similarity");
        return xt::cast<float>(
            eval::all_pairs_similarity(similarity_, eval::to_matrix(a), eval::to_matrix(b)));
    }
    // [rows]: row i of a against row i of b.
    xt::xtensor<float, 1> similarity_pairwise(const xt::xtensor<float, 2>& a,
                                              const xt::xtensor<float, 2>& b) const {
        check_widths(a, b, "similarity_pairwise");
        if (a.shape(0) != b.shape(0))
            detail::throw_error("similarity_pairwise: expected as many rows in both, found ", a.shape(0),
                                " and ", b.shape(0));
        const auto s = eval::pairwise_similarity(similarity_, eval::to_matrix(a), eval::to_matrix(b));
        xt::xtensor<float, 1> out = xt::empty<float>({s.size()});
        std::copy(s.begin(), s.end(), out.begin());
        return out;
    }

private:
    bool encodes_text() const {
        if constexpr (requires { model_.encodes_text(); })
            return model_.encodes_text();
        else
            return TextEncoderModel<M>;
    }
    bool encodes_image() const {
        if constexpr (requires { model_.encodes_image(); })
            return model_.encodes_image();
        else
            return ImageEncoderModel<M>;
    }

    // sentence-transformers' order: longest text first (by characters), images after.
    static std::vector<std::size_t> longest_first(const data::Column& inputs) {
        std::vector<std::size_t> length(inputs.size());
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const auto cell = inputs.cell(i);
            const auto* text = std::get_if<std::string>(&cell);
            length[i] = text ? text->size() : 0;
        }
        std::vector<std::size_t> order(inputs.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return length[a] > length[b]; });
        return order;
    }

    std::optional<std::string> prompt_of(const EncodeOptions& o) const {
        if (o.prompt && o.prompt_name) detail::throw_error("encode: give prompt or prompt_name, not both");
        if (o.prompt) return o.prompt;
        const auto name = o.prompt_name ? o.prompt_name : config_.default_prompt_name;
        if (!name) return std::nullopt;
        const auto it = config_.prompts.find(*name);
        if (it == config_.prompts.end()) {
            std::string known;
            for (const auto& [k, v] : config_.prompts) known += (known.empty() ? "" : ", ") + k;
            detail::throw_error("encode: prompt_name '", *name, "' is not one of the model's prompts [",
                                known, "]");
        }
        return it->second;
    }

    data::Collator with_prompt(const EncodeOptions& o) const {
        data::Collator c = collator_;
        if (const auto prompt = prompt_of(o)) c.set_prompts(*prompt);
        return c;
    }

    EncodeOptions with_task_prompt(EncodeOptions o, std::initializer_list<const char*> names) const {
        if (o.prompt || o.prompt_name) return o;
        for (const char* name : names)
            if (config_.prompts.count(name)) {
                o.prompt_name = name;
                break;
            }
        return o;
    }

    // The batch's inputs, or an EncodeError naming the first that cannot be read.
    static data::HostBatch collate(const data::Collator& c, const data::Dataset& d,
                                   const std::vector<std::size_t>& rows, const xt::xtensor<float, 2>& done,
                                   const std::vector<bool>& computed) {
        try {
            return c.collate(d, rows, 0);
        } catch (const Error&) {
            for (std::size_t row : rows) {
                try {
                    c.collate(d, {row}, 0);
                } catch (const Error& e) {
                    throw EncodeError(std::string("encode: input ") + std::to_string(row) + ": " + e.what(),
                                      row, done, computed);
                }
            }
            throw;
        }
    }

    xt::xtensor<float, 2> embed(const typename data::Batch<B>::Input& in, std::optional<std::size_t> truncate,
                                bool normalize) const {
        xt::xtensor<double, 2> e;
        {
            NoGradGuard no_grad;
            Graph<B, T> g;
            e = xt::cast<double>(to_xarray(encode_column(model_, g, in).value()));
        }
        if (truncate) {
            if (*truncate == 0 || *truncate > e.shape(1))
                detail::throw_error("encode: truncate_dim ", *truncate, " is outside the embeddings' 1..",
                                    e.shape(1));
            e = xt::view(e, xt::all(), xt::range(0, *truncate));
        }
        if (normalize) e = eval::detail::normalize_rows(e);
        return xt::cast<float>(e);
    }

    static void check_widths(const xt::xtensor<float, 2>& a, const xt::xtensor<float, 2>& b,
                             const char* what) {
        if (a.shape(1) != b.shape(1))
            detail::throw_error(what, ": the embeddings are ", a.shape(1), " and ", b.shape(1),
                                " wide, expected the same width");
    }

    M model_;
    data::Collator collator_;
    io::StModelConfig config_;
    eval::Similarity similarity_;
};

}  // namespace tandem
