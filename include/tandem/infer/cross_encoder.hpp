// CrossEncoder: a sequence-classification model that reads a query and a document
// together and scores the pair, with its tokenizer, for inference: predict the scores of
// text pairs in batches (token types mark the second text), rank documents for a query.
// Loads a Hugging Face folder or a sentence-transformers CrossEncoder folder (whose
// config_sentence_transformers.json may name the activation).
// reference: sentence_transformers v6.3 cross_encoder/model.py (CrossEncoder.predict, rank,
// get_default_activation_fn).
#pragma once

#include <tandem/backend/xtensor.hpp>
#include <tandem/core/detail/json.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/losses/cross_encoder_scores.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// One query and one document.
using TextPair = std::pair<std::string, std::string>;

// A document's place in rank(): its index in the documents given and its score.
struct RankResult {
    std::size_t corpus_id;
    double score;
};

// Model: a sequence classifier with forward(graph, TextBatch) -> {.logits [batch, num_labels]}
// and from_pretrained(folder), such as BertForSequenceClassification<B, T>.
template <Backend B, class Model>
class CrossEncoder {
public:
    using T = typename Model::value_type;

    CrossEncoder(Model model, data::Collator collator,
                 std::optional<cross_encoder::Activation> activation_fn = {})
        : model_(std::move(model)), collator_(std::move(collator)) {
        if (!collator_.tokenizer() || !collator_.pad_id())
            detail::throw_error("CrossEncoder: needs a tokenizer with a pad token");
        // reference: get_default_activation_fn: Sigmoid for one label, else Identity.
        activation_fn_ = activation_fn.value_or(num_labels() == 1 ? cross_encoder::Activation::sigmoid
                                                                  : cross_encoder::Activation::identity);
    }

    // The model, tokenizer and activation of a folder: config.json, model.safetensors,
    // tokenizer.json (or vocabulary files) and, when present, config_sentence_transformers.json.
    static CrossEncoder from_folder(const std::filesystem::path& dir) {
        Model model = Model::from_pretrained(dir);
        data::Collator collator = data::Collator::from_folder(dir);
        std::optional<cross_encoder::Activation> activation;
        if (const auto path = dir / "config_sentence_transformers.json"; std::filesystem::exists(path)) {
            const auto config = detail::read_json_file(path);
            if (const auto it = config.find("activation_fn"); it != config.end() && it->is_string())
                activation = activation_named(it->get<std::string>(), path);
        }
        return CrossEncoder(std::move(model), std::move(collator), activation);
    }

    index_t num_labels() const { return model_.config().num_labels(); }
    cross_encoder::Activation activation_fn() const { return activation_fn_; }
    const Model& model() const { return model_; }

    // The activated scores of each pair: [pairs] for one label, else [pairs, num_labels].
    xt::xarray<T> predict(const std::vector<TextPair>& pairs, std::size_t batch_size = 32) const {
        if (batch_size == 0) detail::throw_error("CrossEncoder::predict: batch_size must be positive, got 0");
        const auto labels = static_cast<std::size_t>(num_labels());
        std::vector<T> scores;
        scores.reserve(pairs.size() * labels);
        for (std::size_t begin = 0; begin < pairs.size(); begin += batch_size) {
            const std::size_t end = std::min(pairs.size(), begin + batch_size);
            const auto batch = tokenize(pairs, begin, end);
            NoGradGuard no_grad;
            Graph<B, T> g;
            const auto logits =
                cross_encoder::detail::activate(activation_fn_, model_.forward(g, batch).logits);
            const auto values = logits.value().to_vector();
            scores.insert(scores.end(), values.begin(), values.end());
        }
        if (labels == 1) return xt::adapt(scores, std::vector<std::size_t>{pairs.size()});
        return xt::adapt(scores, std::vector<std::size_t>{pairs.size(), labels});
    }

    // The documents by their score with the query, highest first (ties in input order); at
    // most top_k of them. Needs a model with one label.
    std::vector<RankResult> rank(const std::string& query, const std::vector<std::string>& documents,
                                 std::optional<std::size_t> top_k = std::nullopt,
                                 std::size_t batch_size = 32) const {
        if (num_labels() != 1)
            detail::throw_error("CrossEncoder::rank: needs a model with one label, this one has ",
                                num_labels());
        std::vector<TextPair> pairs;
        for (const auto& d : documents) pairs.emplace_back(query, d);
        const auto scores = predict(pairs, batch_size);
        std::vector<RankResult> out;
        for (std::size_t i = 0; i < documents.size(); ++i) out.push_back({i, double(scores(i))});
        std::stable_sort(out.begin(), out.end(),
                         [](const auto& a, const auto& b) { return a.score > b.score; });
        if (top_k && *top_k < out.size()) out.resize(*top_k);
        return out;
    }

private:
    static cross_encoder::Activation activation_named(const std::string& name,
                                                      const std::filesystem::path& file) {
        const std::string last = name.substr(name.rfind('.') + 1);
        if (last == "Sigmoid") return cross_encoder::Activation::sigmoid;
        if (last == "Identity") return cross_encoder::Activation::identity;
        if (last == "Tanh") return cross_encoder::Activation::tanh;
        detail::throw_error(file.string(),
                            ": key 'activation_fn': expected torch.nn Sigmoid, Identity or Tanh, found '",
                            name, "'");
    }

    // Pairs [begin, end) as one batch padded to its longest: the first text's tokens of type
    // 0, the second's of type 1, truncated by the tokenizer to the model's maximum length.
    TextBatch<B> tokenize(const std::vector<TextPair>& pairs, std::size_t begin, std::size_t end) const {
        const Tokenizer& tokenizer = *collator_.tokenizer();
        std::vector<text::Encoding> encodings;
        std::size_t length = 0;
        for (std::size_t i = begin; i < end; ++i) {
            encodings.push_back(tokenizer.encode_pair(pairs[i].first, pairs[i].second));
            length = std::max(length, encodings.back().size());
        }
        const auto rows = static_cast<index_t>(end - begin), columns = static_cast<index_t>(length);
        std::vector<std::int64_t> ids(rows * columns, *collator_.pad_id()), mask(ids.size(), 0),
            types(ids.size(), 0);
        for (std::size_t r = 0; r < encodings.size(); ++r)
            for (std::size_t c = 0; c < encodings[r].size(); ++c) {
                const std::size_t at = r * length + c;
                ids[at] = encodings[r].ids[c];
                mask[at] = encodings[r].attention_mask[c];
                types[at] = encodings[r].type_ids[c];
            }
        return TextBatch<B>::from_host(ids, rows, columns, mask, types);
    }

    Model model_;
    data::Collator collator_;
    cross_encoder::Activation activation_fn_;
};

}  // namespace tandem
