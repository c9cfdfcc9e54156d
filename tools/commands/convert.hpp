// `tandem convert --model DIR --out DIR`: any folder tandem loads (a sentence-transformers
// folder of any layout, or a bare Hugging Face BERT or CLIP folder) written again as a
// sentence-transformers v6 folder, as SentenceTransformer(path).save(out) does in Python; a
// cross-encoder (a CrossEncoder folder, or a BertForSequenceClassification one) as
// CrossEncoder(path).save(out) does.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/infer/cross_encoder.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/models/bert.hpp>

#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>

namespace tandem::cli {

struct ConvertCommandOptions {
    std::filesystem::path model, out;
};

namespace convert_cmd {
// A folder sentence-transformers opens as a CrossEncoder: its config_sentence_transformers.json
// says so, or its model is a sequence classifier.
inline bool is_cross_encoder(const std::filesystem::path& dir) {
    if (const auto path = dir / "config_sentence_transformers.json"; std::filesystem::exists(path))
        return io::read_json_file(path).value("model_type", "") == "CrossEncoder";
    if (const auto path = dir / "config.json"; std::filesystem::exists(path)) {
        const auto architectures = io::read_json_file(path).value("architectures", nlohmann::json::array());
        return architectures.is_array() && !architectures.empty() &&
               architectures[0] == "BertForSequenceClassification";
    }
    return false;
}
}  // namespace convert_cmd

inline void add_convert(CLI::App& app, int& status) {
    auto o = std::make_shared<ConvertCommandOptions>();
    CLI::App* sub =
        app.add_subcommand("convert", "write a model folder again in the sentence-transformers v6 layout");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder (a CrossEncoder too), or a Hugging Face BERT, CLIP or "
                    "BertForSequenceClassification folder")
        ->required();
    sub->add_option("--out", o->out, "the folder to write")->required();
    sub->callback([o, &status] {
        if (convert_cmd::is_cross_encoder(o->model))
            CrossEncoder<Cpu, BertForSequenceClassification<Cpu, float>>::from_folder(o->model).save(o->out);
        else
            SentenceTransformer<Cpu>::load(o->model).save(o->out);
        status = 0;
    });
}

}  // namespace tandem::cli
