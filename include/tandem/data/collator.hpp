// Collator: turns a batch of dataset rows into model inputs, as sentence-transformers'
// data collator with the model's tokenizer and image processor: each input column is
// tokenised (truncated to the model's maximum length, padded to the batch's longest
// row) or preprocessed into pixel_values, a mixed column both ways by modality; the
// label column becomes labels or scores. Training augmentations (image/augment.hpp) are
// keyed by (seed, epoch, row), so a row looks the same whoever decodes it. Everything
// here is host work; Batch<B>::from_host makes the tensors.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/batch.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/image/augment.hpp>
#include <tandem/image/processor.hpp>
#include <tandem/text/tokenizer.hpp>

#include <cstddef>
#include <cstdint>
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
    // Random augmentations of training images instead of the processor's deterministic path.
    std::optional<image::TrainTransform> augment;
    std::uint64_t seed = 0;
    image::DecodeOptions decode;
    // The loss's needs: how many input columns (0: any) and which label.
    std::size_t inputs = 0;
    LabelKind label = LabelKind::any;
};

class Collator {
public:
    Collator(std::optional<Tokenizer> tokenizer, std::optional<image::ImageProcessor> processor,
             CollatorOptions options = {})
        : processor_(std::move(processor)), o_(std::move(options)) {
        if (tokenizer) default_ = prepare(std::move(*tokenizer));
    }

    // A tokenizer for one column only (a query encoder and a document encoder).
    void set_tokenizer(const std::string& column, Tokenizer tokenizer) {
        per_column_.insert_or_assign(column, prepare(std::move(tokenizer)));
    }
    const CollatorOptions& options() const { return o_; }

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
    HostBatch collate(const Dataset& d, const std::vector<std::size_t>& rows, std::uint64_t epoch,
                      bool skip_bad_rows = false) const {
        HostBatch out;
        const auto inputs = d.input_columns();
        std::vector<std::vector<Prepared>> cells(inputs.size());
        for (std::size_t row : rows) {
            std::size_t use = row;
            std::vector<Prepared> prepared;
            for (std::size_t attempt = 0;; ++attempt) {
                try {
                    prepared = prepare_row(d, use, inputs, epoch);
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
            out.inputs.push_back(assemble(d.column(inputs[k]).name(), cells[k]));
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

    std::vector<Prepared> prepare_row(const Dataset& d, std::size_t row,
                                      const std::vector<std::size_t>& inputs, std::uint64_t epoch) const {
        std::vector<Prepared> out;
        for (std::size_t c : inputs) {
            std::string image;  // the image's path or name, for the message
            try {
                const Cell cell = d.cell(row, c);
                if (const auto* text = std::get_if<std::string>(&cell)) {
                    const TextSide* side = tokenizer_for(d.column(c).name());
                    if (!side) tandem::detail::throw_error("the collator has no tokenizer for texts");
                    const auto e = side->tokenizer.encode(*text);
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

    HostInput assemble(const std::string& name, const std::vector<Prepared>& cells) const {
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
            const std::uint32_t pad = tokenizer_for(name)->pad_id;
            HostText& t = in.text;
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
