// CrossEncoder: a model that reads a query and a document together and scores the pair,
// with its tokenizer (and image processor), for inference: predict the scores of pairs in
// batches, rank documents for a query. A pair is two texts for a sequence classifier (token
// types mark the second text), or a text and an image for an image-text matching model
// (ViLT). Loads a Hugging Face folder or a sentence-transformers CrossEncoder folder (whose
// config_sentence_transformers.json may name the activation); a text cross-encoder saves
// in sentence-transformers v6's CrossEncoder layout, which Python's CrossEncoder(path) opens.
// reference: sentence_transformers v6.3 cross_encoder/model.py (CrossEncoder.predict, rank,
// get_default_activation_fn, save).
#pragma once

#include <tandem/backend/xtensor.hpp>
#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/core/detail/json.hpp>
#include <tandem/core/version.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/image/vilt_processor.hpp>
#include <tandem/infer/save.hpp>
#include <tandem/losses/cross_encoder_scores.hpp>
#include <tandem/models/vilt.hpp>

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
// A text and an image, in either order.
using TextImagePair = std::pair<std::string, image::ImageU8>;
using ImageTextPair = std::pair<image::ImageU8, std::string>;

// A model that scores a text with a padded batch of images, as ViLT does.
template <class M, class B>
concept ImageTextMatcher = requires(const M& m, Graph<B, typename M::value_type>& g, const TextBatch<B>& text,
                                    const ViltImages<B, typename M::value_type>& images) {
    { m.forward(g, text, images).logits } -> std::convertible_to<Var<B, typename M::value_type>>;
};

// A document's place in rank(): its index in the documents given and its score.
struct RankResult {
    std::size_t corpus_id;
    double score;
};

// Model: num_labels() and a sequence classifier's forward(graph, TextBatch) -> {.logits
// [batch, num_labels]},
// such as BertForSequenceClassification<B, T>, or an ImageTextMatcher, such as
// ViltForImageAndTextRetrieval<B, T>; with from_pretrained(folder).
template <Backend B, class Model>
class CrossEncoder {
public:
    using T = typename Model::value_type;

    // An ImageTextMatcher also needs its image processor.
    CrossEncoder(Model model, data::Collator collator,
                 std::optional<cross_encoder::Activation> activation_fn = {},
                 std::optional<image::ViltImageProcessor> image_processor = {})
        : model_(std::move(model)),
          collator_(std::move(collator)),
          image_processor_(std::move(image_processor)) {
        if (!collator_.tokenizer() || !collator_.pad_id())
            detail::throw_error("CrossEncoder: needs a tokenizer with a pad token");
        if (ImageTextMatcher<Model, B> && !image_processor_)
            detail::throw_error("CrossEncoder: ", Model::architecture, " needs an image processor");
        // reference: get_default_activation_fn: Sigmoid for one label, else Identity.
        activation_fn_ = activation_fn.value_or(num_labels() == 1 ? cross_encoder::Activation::sigmoid
                                                                  : cross_encoder::Activation::identity);
    }

    // The model, tokenizer and activation of a folder: config.json, model.safetensors,
    // tokenizer.json (or vocabulary files), preprocessor_config.json for an image-text
    // model and, when present, config_sentence_transformers.json.
    static CrossEncoder from_folder(const std::filesystem::path& dir) {
        Model model = Model::from_pretrained(dir);
        data::Collator collator = ImageTextMatcher<Model, B> ? data::Collator::text_from_folder(dir)
                                                             : data::Collator::from_folder(dir);
        std::optional<cross_encoder::Activation> activation;
        if (const auto path = dir / "config_sentence_transformers.json"; std::filesystem::exists(path)) {
            const auto config = detail::read_json_file(path);
            if (const auto it = config.find("activation_fn"); it != config.end() && it->is_string())
                activation = activation_named(it->get<std::string>(), path);
        }
        std::optional<image::ViltImageProcessor> processor;
        if constexpr (ImageTextMatcher<Model, B>)
            processor = image::ViltImageProcessor::from_file(dir / "preprocessor_config.json");
        return CrossEncoder(std::move(model), std::move(collator), activation, std::move(processor));
    }

    index_t num_labels() const { return model_.num_labels(); }
    cross_encoder::Activation activation_fn() const { return activation_fn_; }
    const Model& model() const { return model_; }

    // The activated scores of each pair: [pairs] for one label, else [pairs, num_labels].
    xt::xarray<T> predict(const std::vector<TextPair>& pairs, std::size_t batch_size = 32) const {
        const Tokenizer& tokenizer = *collator_.tokenizer();
        return predict_batches(
            pairs.size(), batch_size, [&](Graph<B, T>& g, std::size_t begin, std::size_t end) {
                std::vector<text::Encoding> encodings;
                for (std::size_t i = begin; i < end; ++i)
                    encodings.push_back(tokenizer.encode_pair(pairs[i].first, pairs[i].second));
                return model_.forward(g, padded(encodings)).logits;
            });
    }

    // The scores of text-image pairs, each text read alone and each image at its own size.
    xt::xarray<T> predict(const std::vector<TextImagePair>& pairs,
                          std::size_t batch_size = 32) const requires ImageTextMatcher<Model, B> {
        return predict_batches(pairs.size(), batch_size,
                               [&](Graph<B, T>& g, std::size_t begin, std::size_t end) {
                                   std::vector<std::string> texts;
                                   std::vector<image::ImageU8> images;
                                   for (std::size_t i = begin; i < end; ++i)
                                       texts.push_back(pairs[i].first), images.push_back(pairs[i].second);
                                   return match(g, texts, images);
                               });
    }
    // Image-text pairs score as the same pairs text first: the model reads both at once.
    xt::xarray<T> predict(const std::vector<ImageTextPair>& pairs,
                          std::size_t batch_size = 32) const requires ImageTextMatcher<Model, B> {
        std::vector<TextImagePair> swapped;
        for (const auto& [image, text] : pairs) swapped.emplace_back(text, image);
        return predict(swapped, batch_size);
    }

    // The documents by their score with the query, highest first (ties in input order); at
    // most top_k of them. Needs a model with one label.
    std::vector<RankResult> rank(const std::string& query, const std::vector<std::string>& documents,
                                 std::optional<std::size_t> top_k = std::nullopt,
                                 std::size_t batch_size = 32) const {
        std::vector<TextPair> pairs;
        for (const auto& d : documents) pairs.emplace_back(query, d);
        return ranked(pairs, top_k, batch_size);
    }
    // Images for a text query.
    std::vector<RankResult> rank(const std::string& query, const std::vector<image::ImageU8>& images,
                                 std::optional<std::size_t> top_k = std::nullopt,
                                 std::size_t batch_size = 32) const requires ImageTextMatcher<Model, B> {
        std::vector<TextImagePair> pairs;
        for (const auto& image : images) pairs.emplace_back(query, image);
        return ranked(pairs, top_k, batch_size);
    }

    // The folder sentence-transformers' CrossEncoder.save writes: the Hugging Face model
    // (config.json, model.safetensors), tokenizer.json and tokenizer_config.json (with the
    // maximum length), config_sentence_transformers.json naming the activation,
    // sentence_bert_config.json, a README.md model card, and modules.json last (a folder
    // without it is not yet a model). Every file is written to a temporary name and renamed.
    void save(const std::filesystem::path& dir) const requires(!ImageTextMatcher<Model, B>) {
        using detail::atomic_write;
        model_.save_pretrained(dir);
        // The second text's token types are model inputs.
        detail::save_tokenizer(dir, collator_, {"input_ids", "token_type_ids", "attention_mask"});
        const nlohmann::ordered_json config{{"__version__", {{"tandem", kVersion}}},
                                            {"activation_fn", activation_class(activation_fn_)},
                                            {"default_prompt_name", nullptr},
                                            {"model_type", "CrossEncoder"},
                                            {"prompts", nlohmann::json::object()}};
        atomic_write(dir / "config_sentence_transformers.json", config.dump(2) + "\n");
        const nlohmann::ordered_json module{
            {"transformer_task", "sequence-classification"},
            {"modality_config", {{"text", {{"method", "forward"}, {"method_output_name", "logits"}}}}},
            {"module_output_name", "scores"}};
        atomic_write(dir / "sentence_bert_config.json", module.dump(2) + "\n");
        std::ostringstream card;
        card << "---\nlibrary_name: sentence-transformers\npipeline_tag: text-ranking\ntags:\n- "
                "sentence-transformers\n"
             << "- cross-encoder\n- reranker\n---\n\n# CrossEncoder\n\nA " << Model::architecture
             << " that scores a pair of texts read together";
        if (const auto length = collator_.max_length()) card << ", up to " << *length << " tokens";
        card << ", with " << num_labels() << (num_labels() == 1 ? " label" : " labels") << " and the "
             << activation_class(activation_fn_) << " activation. Written by tandem " << kVersion
             << ".\n\n```python\nfrom sentence_transformers import CrossEncoder\n\nmodel = CrossEncoder(\""
             << dir.filename().string() << "\")\nscores = model.predict([(\"query\", \"document\")])\n```\n";
        atomic_write(dir / "README.md", card.str());
        const nlohmann::ordered_json modules = nlohmann::ordered_json::array(
            {{{"idx", 0},
              {"name", "0"},
              {"path", ""},
              {"type", "sentence_transformers.base.modules.transformer.Transformer"}}});
        atomic_write(dir / "modules.json", modules.dump(2) + "\n");
    }

private:
    static const char* activation_class(cross_encoder::Activation a) {
        switch (a) {
            case cross_encoder::Activation::sigmoid:
                return "torch.nn.modules.activation.Sigmoid";
            case cross_encoder::Activation::tanh:
                return "torch.nn.modules.activation.Tanh";
            case cross_encoder::Activation::identity:
                break;
        }
        return "torch.nn.modules.linear.Identity";
    }

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

    // `logits(graph, begin, end)` of pairs [begin, end) for each batch, activated and
    // gathered: [pairs] for one label, else [pairs, num_labels].
    template <class Logits>
    xt::xarray<T> predict_batches(std::size_t n, std::size_t batch_size, Logits logits) const {
        if (batch_size == 0) detail::throw_error("CrossEncoder::predict: batch_size must be positive, got 0");
        const auto labels = static_cast<std::size_t>(num_labels());
        std::vector<T> scores;
        scores.reserve(n * labels);
        for (std::size_t begin = 0; begin < n; begin += batch_size) {
            NoGradGuard no_grad;
            Graph<B, T> g;
            const auto values = cross_encoder::detail::activate(
                                    activation_fn_, logits(g, begin, std::min(n, begin + batch_size)))
                                    .value()
                                    .to_vector();
            scores.insert(scores.end(), values.begin(), values.end());
        }
        if (labels == 1) return xt::adapt(scores, std::vector<std::size_t>{n});
        return xt::adapt(scores, std::vector<std::size_t>{n, labels});
    }

    template <class Pairs>
    std::vector<RankResult> ranked(const Pairs& pairs, std::optional<std::size_t> top_k,
                                   std::size_t batch_size) const {
        if (num_labels() != 1)
            detail::throw_error("CrossEncoder::rank: needs a model with one label, this one has ",
                                num_labels());
        const auto scores = predict(pairs, batch_size);
        std::vector<RankResult> out;
        for (std::size_t i = 0; i < pairs.size(); ++i) out.push_back({i, double(scores(i))});
        std::stable_sort(out.begin(), out.end(),
                         [](const auto& a, const auto& b) { return a.score > b.score; });
        if (top_k && *top_k < out.size()) out.resize(*top_k);
        return out;
    }

    // The logits of texts with images, one pair per row.
    Var<B, T> match(Graph<B, T>& g, const std::vector<std::string>& texts,
                    const std::vector<image::ImageU8>& images) const {
        const Tokenizer& tokenizer = *collator_.tokenizer();
        std::vector<text::Encoding> encodings;
        for (const auto& text : texts) encodings.push_back(tokenizer.encode(text));
        const auto pixels = image_processor_->preprocess(images);
        const auto& s = pixels.pixel_values.shape();
        const std::vector<T> values(pixels.pixel_values.begin(), pixels.pixel_values.end());
        const ViltImages<B, T> batch{
            g.input(Tensor<B, T>::from_vector(values,
                                              {index_t(s[0]), index_t(s[1]), index_t(s[2]), index_t(s[3])})),
            Ids<B>::from_vector(std::vector<std::int64_t>(pixels.pixel_mask.begin(), pixels.pixel_mask.end()),
                                {index_t(s[0]), index_t(s[2]), index_t(s[3])})};
        return model_.forward(g, padded(encodings), batch).logits;
    }

    // Encodings as one batch padded to its longest; the tokenizer has truncated each to the
    // model's maximum length.
    TextBatch<B> padded(const std::vector<text::Encoding>& encodings) const {
        std::size_t length = 0;
        for (const auto& e : encodings) length = std::max(length, e.size());
        const auto rows = static_cast<index_t>(encodings.size()), columns = static_cast<index_t>(length);
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
    std::optional<image::ViltImageProcessor> image_processor_;
    cross_encoder::Activation activation_fn_;
};

}  // namespace tandem
