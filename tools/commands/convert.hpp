// `tandem convert --model DIR --out DIR`: any folder tandem loads (a sentence-transformers
// folder of any layout, or a bare Hugging Face BERT or CLIP folder) written again as a
// sentence-transformers v6 folder, as SentenceTransformer(path).save(out) does in Python.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>

namespace tandem::cli {

struct ConvertCommandOptions {
    std::filesystem::path model, out;
};

inline void add_convert(CLI::App& app, int& status) {
    auto o = std::make_shared<ConvertCommandOptions>();
    CLI::App* sub =
        app.add_subcommand("convert", "write a model folder again in the sentence-transformers v6 layout");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder, or a Hugging Face BERT or CLIP folder")
        ->required();
    sub->add_option("--out", o->out, "the folder to write")->required();
    sub->callback([o, &status] {
        SentenceTransformer<Cpu>::load(o->model).save(o->out);
        status = 0;
    });
}

}  // namespace tandem::cli
