// `tandem mine --model DIR --data FILE --out FILE.jsonl`: hard negatives for the
// (anchor, positive) rows of a dataset file, as sentence-transformers'
// mine_hard_negatives, written as JSON lines in its column order: texts as strings,
// images as {"image": path} (what the JSONL reader reads back), labels, scores and the
// list columns of labeled-list as JSON values.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/core/detail/atomic_file.hpp>
#include <tandem/core/error.hpp>
#include <tandem/data/readers/csv.hpp>
#include <tandem/data/readers/jsonl.hpp>
#include <tandem/infer/mine.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "encode.hpp"
#include "validators.hpp"

namespace tandem::cli {

struct MineCommandOptions {
    std::filesystem::path model, data, out;
    std::optional<std::filesystem::path> corpus;
    MineHardNegativesOptions mine;
};

// A .jsonl, .csv or .tsv file, as datasets.load_dataset reads it.
inline data::Dataset read_dataset_file(const std::filesystem::path& path) {
    const auto ext = path.extension().string();
    if (ext == ".jsonl" || ext == ".json") return data::read_jsonl(path);
    if (ext == ".csv") return data::read_csv(path);
    if (ext == ".tsv") return data::read_tsv(path);
    detail::throw_error(path.string(), ": expected a .jsonl, .csv or .tsv file, found '", ext, "'");
}

inline nlohmann::ordered_json cell_json(const data::Cell& cell) {
    if (const auto* text = std::get_if<std::string>(&cell)) return *text;
    const auto& image = std::get<data::ImageRef>(cell);
    if (const auto* file = std::get_if<data::ImageFile>(&image)) return {{"image", file->path.string()}};
    if (const auto* bytes = std::get_if<data::EncodedImage>(&image)) return {{"image", bytes->name}};
    if (const auto* slice = std::get_if<data::FileSlice>(&image)) return {{"image", slice->name}};
    detail::throw_error("mine: an image given as decoded pixels has no path to write");
}

inline nlohmann::ordered_json column_json(const data::Column& column, std::size_t row) {
    switch (column.type()) {
        case data::ColumnType::label:
            return column.label(row);
        case data::ColumnType::score:
            return column.score(row);
        default:
            return cell_json(column.cell(row));
    }
}

inline int mine_run(const MineCommandOptions& o) {
    const auto dataset = read_dataset_file(o.data);
    const auto model = SentenceTransformer<Cpu>::load(o.model);
    MineHardNegativesOptions options = o.mine;
    if (o.corpus) options.corpus = data::Column("corpus", read_lines(*o.corpus));
    const auto mined = mine_hard_negatives(dataset, model, options);
    detail::atomic_write(o.out, [&](std::ostream& out) {
        for (std::size_t r = 0; r < mined.size(); ++r) {
            nlohmann::ordered_json line;
            for (std::size_t c = 0; c < mined.dataset.column_names().size(); ++c) {
                const auto& column = mined.dataset.column(c);
                line[column.name()] = column_json(column, r);
            }
            if (mined.documents) {
                auto& list = line[mined.documents->name] = nlohmann::ordered_json::array();
                for (const auto& cell : mined.documents->rows[r]) list.push_back(cell_json(cell));
            }
            if (mined.labels) line[mined.labels->name] = mined.labels->rows[r];
            if (mined.scores) line[mined.scores->name] = mined.scores->rows[r];
            out << line.dump() << "\n";
        }
    });
    std::fprintf(stderr, "%zu rows written to %s\n", mined.size(), o.out.c_str());
    return 0;
}

inline void add_mine(CLI::App& app, int& status) {
    auto o = std::make_shared<MineCommandOptions>();
    auto& m = o->mine;
    CLI::App* sub =
        app.add_subcommand("mine", "hard negatives for (anchor, positive) rows (mine_hard_negatives)");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder, or a Hugging Face BERT or CLIP folder")
        ->required();
    sub->add_option("--data", o->data, "the (anchor, positive) rows: a .jsonl, .csv or .tsv file")
        ->required();
    sub->add_option("--out", o->out, "the .jsonl file to write")->required();
    sub->add_option("--corpus", o->corpus, "more candidate negatives: a file with one text per line");
    sub->add_option("--anchor-column", m.anchor_column_name, "default: the first column");
    sub->add_option("--positive-column", m.positive_column_name, "default: the second column");
    sub->add_option("--num-negatives", m.num_negatives, "negatives per anchor (default 3)")
        ->check(integer_at_least(1));
    sub->add_option("--range-min", m.range_min, "skip the best N candidates (default 0)")
        ->check(integer_at_least(0));
    sub->add_option("--range-max", m.range_max, "consider the best N candidates at most")
        ->check(integer_at_least(1));
    sub->add_option("--max-score", m.max_score, "drop candidates scoring above this");
    sub->add_option("--min-score", m.min_score, "drop candidates scoring below this");
    sub->add_option("--absolute-margin", m.absolute_margin,
                    "keep candidates scoring at least this below the positive");
    sub->add_option("--relative-margin", m.relative_margin,
                    "keep candidates scoring at most (1 - this) times the positive's score");
    sub->add_option("--sampling-strategy", m.sampling_strategy, "top or random (default top)")
        ->check(CLI::IsMember({"top", "random"}));
    sub->add_option("--output-format", m.output_format,
                    "triplet, n-tuple, labeled-pair or labeled-list (default triplet)")
        ->check(CLI::IsMember({"triplet", "n-tuple", "labeled-pair", "labeled-list"}));
    sub->add_flag("--output-scores", m.output_scores, "add the scores");
    sub->add_flag("--include-positives", m.include_positives, "keep the positives among the candidates");
    sub->add_option("--batch-size", m.batch_size, "inputs per forward pass (default 32)")
        ->check(integer_at_least(1));
    sub->add_option("--seed", m.seed, "the random sampling's seed (default 0)");
    sub->callback([o, &status] { status = mine_run(*o); });
}

}  // namespace tandem::cli
