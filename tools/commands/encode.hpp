// `tandem encode --model DIR --out FILE.npy (--texts FILE | --images IMAGE...)`: the
// embeddings a sentence-transformers (or bare Hugging Face) folder gives, [inputs, dim]
// in input order, float32 or quantised by --precision, as SentenceTransformer.encode
// returns them.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/core/error.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/io/npy.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "validators.hpp"

namespace tandem::cli {

struct EncodeCommandOptions {
    std::filesystem::path model, out;
    std::optional<std::filesystem::path> texts;
    std::vector<std::filesystem::path> images;
    EncodeOptions encode;
    std::string precision = "float32";
};

// One text per line of `path` ("-": stdin).
inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream file;
    if (path != "-") {
        if (std::filesystem::is_directory(path))
            detail::throw_error(path.string(), ": is a directory, expected a file with one text per line");
        file.open(path);
        if (!file) detail::throw_error(path.string(), ": cannot open");
    }
    std::istream& in = path == "-" ? std::cin : file;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    return lines;
}

inline int encode_run(const EncodeCommandOptions& o) {
    if (o.texts.has_value() == !o.images.empty())
        detail::throw_error("give --texts or --images, one of them");
    const auto model = SentenceTransformer<Cpu>::load(o.model);
    const auto embeddings = o.texts ? model.encode_quantized(read_lines(*o.texts), o.precision, o.encode)
                                    : model.encode_quantized(o.images, o.precision, o.encode);
    std::visit([&](const auto& e) { io::save_npy(o.out, e); }, embeddings);
    return 0;
}

inline void add_encode(CLI::App& app, int& status) {
    auto o = std::make_shared<EncodeCommandOptions>();
    CLI::App* sub = app.add_subcommand(
        "encode", "embed texts or images with a sentence-transformers folder into a .npy file");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder, or a Hugging Face BERT or CLIP folder")
        ->required();
    sub->add_option("--out", o->out, "the .npy file to write, float32 [inputs, dim]")->required();
    sub->add_option("--texts", o->texts, "a file with one text per line, - for stdin");
    sub->add_option("--images", o->images, "image files");
    sub->add_option("--batch-size", o->encode.batch_size, "inputs per forward pass (default 32)")
        ->check(integer_at_least(1));
    sub->add_flag("--normalize", o->encode.normalize_embeddings, "unit-length embeddings");
    sub->add_option("--truncate-dim", o->encode.truncate_dim, "keep the first N dimensions")
        ->check(integer_at_least(1));
    sub->add_option("--precision", o->precision,
                    "float32, or int8 / uint8 (ranges from these embeddings), binary / ubinary (packed "
                    "sign bits), as quantize_embeddings")
        ->check(CLI::IsMember({"float32", "int8", "uint8", "binary", "ubinary"}));
    sub->add_option("--prompt", o->encode.prompt, "text put before every text");
    sub->add_option("--prompt-name", o->encode.prompt_name, "one of the folder's prompts");
    sub->callback([o, &status] { status = encode_run(*o); });
}

}  // namespace tandem::cli
