// Collator: turns a batch of dataset rows into model inputs, as sentence-transformers'
// data collator with the model's tokenizer and image processor: each input column is
// tokenised (truncated to the model's maximum length, padded to the batch's longest
// row or to that maximum length) or preprocessed into pixel_values, a mixed column both
// ways by modality; the label column becomes labels or scores. Training augmentations
// (image/augment.hpp) are keyed by (seed, epoch, row), so a row looks the same whoever
// decodes it. Everything here is host work; Batch<B>::from_host makes the tensors.
#pragma once

#include <tandem/core/detail/json.hpp>
#include <tandem/core/error.hpp>
#include <tandem/data/batch.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/image/augment.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/text/tokenizer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::data {

// What the loss expects of a dataset's label column.
enum class LabelKind { any, none, label, score };

struct CollatorOptions {
    // Tokens per text, special tokens included; default: the tokenizer's model_max_length.
    std::optional<std::size_t> max_length;
    // Padding id; default: the tokenizer's [PAD], <pad> or <|endoftext|> (CLIP pads with it).
    std::optional<std::uint32_t> pad_id;
    // Every text padded to max_length rather than to the batch's longest (sentence-transformers'
    // processing_kwargs padding "max_length"): a model that pools the last position (SigLIP)
    // reads a padding position for shorter texts, so its embeddings depend on this.
    bool pad_to_max_length = false;
    // Random augmentations of training images instead of the processor's deterministic path.
    std::optional<image::TrainTransform> augment;
    std::uint64_t seed = 0;
    image::DecodeOptions decode;
    // The loss's needs: how many input columns (0: any) and which label.
    std::size_t inputs = 0;
    LabelKind label = LabelKind::any;
    // sentence-transformers' `prompts`, put before every text of a column: one string for
    // every column, {column: prompt}, or {dataset name: string or {column: prompt}} over a
    // DatasetDict. The prompt's length goes to TextBatch::prompt_length for Pooling.
    nlohmann::json prompts = nullptr;
};

class Collator {
public:
    Collator(std::optional<Tokenizer> tokenizer, std::optional<image::ImageProcessor> processor,
             CollatorOptions options = {})
        : processor_(std::move(processor)), o_(std::move(options)) {
        if (tokenizer) default_ = prepare(std::move(*tokenizer));
        check_prompts(o_.prompts);
    }

    // The tokenizer and image processor a model folder holds (tokenizer.json or the
    // older vocabulary files, preprocessor_config.json), either of them optional.
    static Collator from_folder(const std::filesystem::path& dir, CollatorOptions options = {}) {
        auto tokenizer = tokenizer_in(dir, options);
        auto processor = processor_in(dir);
        if (!tokenizer && !processor)
            tandem::detail::throw_error(
                dir.string(),
                ": no tokenizer (tokenizer.json, vocab.json + merges.txt or vocab.txt) and no "
                "preprocessor_config.json or processor_config.json, expected a model folder");
        return Collator(std::move(tokenizer), std::move(processor), std::move(options));
    }

    // The folder's tokenizer alone, for a model whose images another processor prepares
    // (ViLT's, which pads a batch with a pixel mask).
    static Collator text_from_folder(const std::filesystem::path& dir, CollatorOptions options = {}) {
        auto tokenizer = tokenizer_in(dir, options);
        if (!tokenizer)
            tandem::detail::throw_error(
                dir.string(), ": no tokenizer (tokenizer.json, vocab.json + merges.txt or vocab.txt)");
        return Collator(std::move(tokenizer), std::nullopt, std::move(options));
    }

    // The tokenizer a model folder holds, if any; unless options name one, its pad token
    // goes to options.pad_id.
    static std::optional<Tokenizer> tokenizer_in(const std::filesystem::path& dir, CollatorOptions& options) {
        namespace fs = std::filesystem;
        if (!fs::is_directory(dir)) tandem::detail::throw_error(dir.string(), ": no such model folder");
        std::optional<Tokenizer> tokenizer;
        if (fs::exists(dir / "tokenizer.json") || fs::exists(dir / "vocab.txt") ||
            (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")))
            tokenizer = Tokenizer::from_folder(dir);
        // The folder's own pad token before the usual names: what transformers pads with.
        if (tokenizer && !options.pad_id)
            if (const auto pad =
                    tandem::detail::config_token(tandem::detail::read_tokenizer_config(dir),
                                                 tandem::detail::tokenizer_config_path(dir), "pad_token"))
                options.pad_id = tokenizer->token_to_id(pad->content);
        return tokenizer;
    }

    // The image processor a model folder holds (preprocessor_config.json, or
    // processor_config.json's "image_processor"), if any.
    static std::optional<image::ImageProcessor> processor_in(const std::filesystem::path& dir) {
        if (std::filesystem::exists(dir / "preprocessor_config.json"))
            return image::ImageProcessor::from_file(dir / "preprocessor_config.json");
        // transformers 5 saves a processor's parts in one file, the image processor's
        // settings under "image_processor".
        if (const auto path = dir / "processor_config.json"; std::filesystem::exists(path)) {
            const auto config = tandem::detail::read_json_file(path);
            if (const auto it = config.find("image_processor"); it != config.end())
                return image::ImageProcessor::from_json(*it, path.string() + ": key 'image_processor'");
        }
        return std::nullopt;
    }

    // Images processed by `processor` (a Router's image route, whose folder is not the
    // tokenizer's).
    void set_processor(image::ImageProcessor processor) { processor_ = std::move(processor); }

    // A tokenizer for one column only (a query encoder and a document encoder).
    void set_tokenizer(const std::string& column, Tokenizer tokenizer) {
        per_column_.insert_or_assign(column, prepare(std::move(tokenizer)));
    }
    const CollatorOptions& options() const { return o_; }
    // The tokenizer of columns without their own (truncation set to the collator's
    // max_length, no padding), and the id it pads with; null without a tokenizer.
    const Tokenizer* tokenizer() const { return default_ ? &default_->tokenizer : nullptr; }
    std::optional<std::uint32_t> pad_id() const {
        return default_ ? std::optional<std::uint32_t>(default_->pad_id) : std::nullopt;
    }
    const std::optional<image::ImageProcessor>& processor() const { return processor_; }
    // Tokens per text the default tokenizer keeps, where it truncates.
    std::optional<std::size_t> max_length() const {
        if (!default_ || !default_->tokenizer.truncation()) return std::nullopt;
        return default_->tokenizer.truncation()->max_length;
    }
    void set_prompts(nlohmann::json prompts) {
        check_prompts(prompts);
        o_.prompts = std::move(prompts);
    }

    // The prompt of `column` in the dataset named `dataset` ("" outside a DatasetDict), as
    // sentence-transformers' data collator resolves it.
    std::optional<std::string> prompt_for(const std::string& dataset, const std::string& column) const {
        const auto& p = o_.prompts;
        if (p.is_null()) return std::nullopt;
        const nlohmann::json* level = &p;
        if (p.is_object()) {
            if (!dataset.empty() && p.contains(dataset))
                level = &p.at(dataset);
            else if (const auto nested =
                         std::find_if(p.begin(), p.end(), [](const auto& v) { return v.is_object(); });
                     nested != p.end()) {
                if (dataset.empty())
                    tandem::detail::throw_error(
                        "prompts: a dictionary of dataset names (", nested.key(),
                        ", ...) to column prompts needs a DatasetDict, found a dataset without a name");
                return std::nullopt;
            }
        }
        if (level->is_string()) return level->get<std::string>();
        if (auto it = level->find(column); it != level->end()) return it->get<std::string>();
        return std::nullopt;
    }

    // Fails, naming what is missing, when `d` cannot feed the loss.
    void check(const Dataset& d, const std::string& name = "dataset") const {
        using tandem::detail::throw_error;
        if (d.empty()) throw_error(name, " is empty, expected at least one row");
        const auto inputs = d.input_columns();
        if (o_.inputs && inputs.size() != o_.inputs) {
            std::string names;
            for (std::size_t c : inputs) names += (names.empty() ? "'" : ", '") + d.column(c).name() + "'";
            throw_error(name, ": the loss takes ", o_.inputs, " input columns, found ", inputs.size(), " [",
                        names, "]");
        }
        const auto label = d.label_column();
        if ((o_.label == LabelKind::label || o_.label == LabelKind::score) && !label)
            throw_error(name, ": the loss needs a label column (label, labels, score or scores), found none");
        if (o_.label == LabelKind::none && label)
            throw_error(name, ": the loss takes no labels, found label column '", d.column(*label).name(),
                        "'");
        if (label && o_.label == LabelKind::label && d.column(*label).type() != ColumnType::label)
            throw_error(name, ": label column '", d.column(*label).name(), "' must hold int64 labels, found ",
                        column_type_name(d.column(*label).type()), "s");
        for (std::size_t c : inputs) {
            const auto t = d.column(c).type();
            if (t == ColumnType::label || t == ColumnType::score)
                throw_error(name, ": input column '", d.column(c).name(), "' holds ", column_type_name(t),
                            "s, expected texts or images");
            if (t == ColumnType::text && !tokenizer_for(d.column(c).name()))
                throw_error(name, ": column '", d.column(c).name(),
                            "' holds texts but the collator has no tokenizer");
            if (t == ColumnType::image && !processor_ && !o_.augment)
                throw_error(name, ": column '", d.column(c).name(),
                            "' holds images but the collator has no image processor");
        }
    }

    // Collates rows `rows` of `d` for `epoch`. A row that cannot be read throws an error
    // naming it, or with `skip_bad_rows` is replaced by the next readable row after it
    // (in dataset order, wrapping around) and listed in HostBatch::replaced.
    // `dataset_name` picks the prompts of a DatasetDict's dataset.
    HostBatch collate(const Dataset& d, const std::vector<std::size_t>& rows, std::uint64_t epoch,
                      bool skip_bad_rows = false, const std::string& dataset_name = "") const {
        HostBatch out;
        const auto inputs = d.input_columns();
        std::vector<std::vector<Prepared>> cells(inputs.size());
        for (std::size_t row : rows) {
            std::size_t use = row;
            std::vector<Prepared> prepared;
            for (std::size_t attempt = 0;; ++attempt) {
                try {
                    prepared = prepare_row(d, use, inputs, epoch, dataset_name);
                    break;
                } catch (const Error& e) {
                    if (!skip_bad_rows) throw;
                    if (attempt == 0) out.replaced.push_back(row);
                    if (attempt + 1 >= d.size())
                        tandem::detail::throw_error("no readable row left to replace row ", row, " (",
                                                    e.what(), ")");
                    use = (use + 1) % d.size();
                }
            }
            out.rows.push_back(use);
            for (std::size_t k = 0; k < inputs.size(); ++k) cells[k].push_back(std::move(prepared[k]));
        }
        for (std::size_t k = 0; k < inputs.size(); ++k)
            out.inputs.push_back(assemble(d.column(inputs[k]).name(), cells[k], dataset_name));
        if (const auto label = d.label_column()) {
            if (d.column(*label).type() == ColumnType::label) {
                out.labels.emplace();
                for (std::size_t r : out.rows) out.labels->push_back(d.label(r, *label));
            } else {
                out.scores.emplace();
                for (std::size_t r : out.rows) out.scores->push_back(d.score(r, *label));
            }
        }
        return out;
    }

private:
    struct Tokens {
        std::vector<std::uint32_t> ids, types;
    };
    // Images wait in uint8 HWC (a quarter of float CHW) and are normalised straight into
    // the batch's pixel_values.
    using Prepared = std::variant<Tokens, image::ImageU8>;
    struct TextSide {
        Tokenizer tokenizer;
        std::uint32_t pad_id;
    };

    TextSide prepare(Tokenizer t) const {
        t.no_padding();
        if (const auto n = o_.max_length ? o_.max_length : t.model_max_length())
            t.enable_truncation({.max_length = *n});
        else if (o_.pad_to_max_length)
            tandem::detail::throw_error(
                "Collator: pad_to_max_length needs a maximum length; set CollatorOptions::max_length or the "
                "tokenizer's model_max_length");
        std::optional<std::uint32_t> pad = o_.pad_id;
        for (const char* token : {"[PAD]", "<pad>", "<|endoftext|>"})
            if (!pad) pad = t.token_to_id(token);
        if (!pad)
            tandem::detail::throw_error(
                "Collator: the tokenizer has no [PAD], <pad> or <|endoftext|> token; set "
                "CollatorOptions::pad_id");
        return {std::move(t), *pad};
    }

    const TextSide* tokenizer_for(const std::string& column) const {
        if (auto it = per_column_.find(column); it != per_column_.end()) return &it->second;
        return default_ ? &*default_ : nullptr;
    }

    static void check_prompts(const nlohmann::json& p) {
        auto strings = [](const nlohmann::json& o) {
            return o.is_object() &&
                   std::all_of(o.begin(), o.end(), [](const auto& v) { return v.is_string(); });
        };
        const bool valid = p.is_null() || p.is_string() || strings(p) ||
                           (p.is_object() && std::all_of(p.begin(), p.end(), [&](const auto& v) {
                                return v.is_string() || strings(v);
                            }));
        if (!valid)
            tandem::detail::throw_error(
                "prompts: expected a string, {column: prompt} or {dataset: string or "
                "{column: prompt}}, found ",
                p.dump());
    }

    // Tokens of the prompt before the text, without a special token the tokenizer puts
    // after it (sentence-transformers' _get_prompt_length).
    static std::size_t prompt_length(const TextSide& side, const std::string& prompt) {
        const auto e = side.tokenizer.encode(prompt);
        std::size_t n = e.size();
        if (n > 0 && e.special_tokens_mask.back()) --n;
        return n;
    }

    std::vector<Prepared> prepare_row(const Dataset& d, std::size_t row,
                                      const std::vector<std::size_t>& inputs, std::uint64_t epoch,
                                      const std::string& dataset_name) const {
        std::vector<Prepared> out;
        for (std::size_t c : inputs) {
            std::string image;  // the image's path or name, for the message
            try {
                const Cell cell = d.cell(row, c);
                if (const auto* text = std::get_if<std::string>(&cell)) {
                    const TextSide* side = tokenizer_for(d.column(c).name());
                    if (!side) tandem::detail::throw_error("the collator has no tokenizer for texts");
                    const auto prompt = prompt_for(dataset_name, d.column(c).name());
                    const auto e = side->tokenizer.encode(prompt ? *prompt + *text : *text);
                    out.push_back(Tokens{e.ids, e.type_ids});
                } else {
                    const auto& ref = std::get<ImageRef>(cell);
                    image = describe(ref);
                    out.push_back(pixels(load(ref, o_.decode), d.source_row(row), epoch));
                }
            } catch (const Error& e) {
                const std::string where = d.where(row, c);
                tandem::detail::throw_error("row ", row, where.empty() ? "" : " (" + where + ")",
                                            ", column '", d.column(c).name(), "'",
                                            image.empty() ? "" : " (" + image + ")", ": ", e.what());
            }
        }
        return out;
    }

    image::ImageU8 pixels(const image::ImageU8& img, std::size_t row, std::uint64_t epoch) const {
        if (o_.augment) {
            // One key per (seed, epoch): the augmentation's own stream is the row.
            const std::uint64_t key = o_.seed ^ (0x9E3779B97F4A7C15ull * (epoch + 1));
            return o_.augment->augment(img, key, row);
        }
        if (!processor_) tandem::detail::throw_error("the collator has no image processor");
        return processor_->resize_and_crop(img);
    }

    HostInput assemble(const std::string& name, const std::vector<Prepared>& cells,
                       const std::string& dataset_name) const {
        HostInput in;
        in.name = name;
        std::size_t length = 0;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (const auto* t = std::get_if<Tokens>(&cells[i])) {
                in.text_rows.push_back(i);
                length = std::max(length, t->ids.size());
            } else {
                in.image_rows.push_back(i);
            }
        }
        if (!in.text_rows.empty()) {
            const TextSide& side = *tokenizer_for(name);
            if (o_.pad_to_max_length) length = side.tokenizer.truncation()->max_length;
            const std::uint32_t pad = side.pad_id;
            HostText& t = in.text;
            if (const auto prompt = prompt_for(dataset_name, name))
                t.prompt_length = prompt_length(side, *prompt);
            t.batch = in.text_rows.size();
            t.length = length;
            t.input_ids.assign(t.batch * length, pad);
            t.attention_mask.assign(t.batch * length, 0);
            t.token_type_ids.assign(t.batch * length, 0);
            for (std::size_t k = 0; k < t.batch; ++k) {
                const auto& tok = std::get<Tokens>(cells[in.text_rows[k]]);
                for (std::size_t j = 0; j < tok.ids.size(); ++j) {
                    t.input_ids[k * length + j] = tok.ids[j];
                    t.attention_mask[k * length + j] = 1;
                    t.token_type_ids[k * length + j] = tok.types[j];
                }
            }
        }
        const auto& norm = o_.augment ? o_.augment->normalization : processor_->normalization;
        for (std::size_t k = 0; k < in.image_rows.size(); ++k) {
            const auto& p = std::get<image::ImageU8>(cells[in.image_rows[k]]);
            const std::size_t h = p.shape()[0], w = p.shape()[1];
            if (k == 0) {
                in.height = h;
                in.width = w;
                in.pixel_values.resize(in.image_rows.size() * 3 * h * w);
            } else if (h != in.height || w != in.width) {
                tandem::detail::throw_error("column '", name, "': image at batch position ", in.image_rows[k],
                                            " is ", h, "x", w, " after preprocessing, the first is ",
                                            in.height, "x", in.width,
                                            "; a batch needs one size (center crop or an exact size)");
            }
            image::to_pixel_values(p, norm, in.pixel_values.data() + k * 3 * h * w);
        }
        return in;
    }

    std::optional<TextSide> default_;
    std::map<std::string, TextSide> per_column_;
    std::optional<image::ImageProcessor> processor_;
    CollatorOptions o_;
};

}  // namespace tandem::data
