// `tandem tokenize --tokenizer PATH [--max-length N] [--no-special-tokens]`: reads
// one JSON string per line on stdin and writes its token ids as one JSON array per
// line on stdout, in order. PATH is a tokenizer.json or a folder with a tokenizer.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/tokenizer.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "args.hpp"

namespace tandem::cli {

inline int tokenize_main(Args& args) {
    if (args.take_flag("--help")) {
        std::printf(
            "usage: tandem tokenize --tokenizer PATH [--max-length N] [--no-special-tokens] < lines.jsonl\n\n"
            "  --tokenizer PATH     tokenizer.json, or a folder with tokenizer.json, vocab.json + "
            "merges.txt\n"
            "                       (CLIP, GPT-2) or vocab.txt (BERT)\n"
            "  --max-length N       truncate to N tokens, special tokens included\n"
            "  --no-special-tokens  leave out the special tokens the post-processor adds\n"
            "  --replace-invalid    replace bytes that are not UTF-8 by U+FFFD instead of failing\n");
        return 0;
    }
    Tokenizer tokenizer = Tokenizer::from_file(args.require("--tokenizer"));
    const std::string max_length = args.take("--max-length");
    const bool add_special = !args.take_flag("--no-special-tokens");
    if (args.take_flag("--replace-invalid")) tokenizer.set_invalid_utf8(text::InvalidUtf8::Replace);
    if (!args.positional().empty()) detail::throw_error("unexpected argument '", args.positional()[0], "'");
    if (!max_length.empty()) {
        size_t used = 0;
        long n = -1;
        try {
            n = std::stol(max_length, &used);
        } catch (const std::exception&) {
        }
        if (n <= 0 || used != max_length.size())
            detail::throw_error("option --max-length: expected a positive integer, found '", max_length, "'");
        tokenizer.enable_truncation({static_cast<size_t>(n)});
    }

    // Lines are encoded in blocks so the batch runs in parallel and memory stays bounded.
    constexpr size_t kBlock = 4096;
    std::vector<std::string> texts;
    std::string line, out;
    size_t line_number = 0;
    const auto flush = [&] {
        for (const auto& e : tokenizer.encode_batch(texts, add_special)) {
            out.assign(1, '[');
            for (size_t i = 0; i < e.ids.size(); ++i) {
                if (i) out += ',';
                out += std::to_string(e.ids[i]);
            }
            out += "]\n";
            std::fwrite(out.data(), 1, out.size(), stdout);
        }
        texts.clear();
    };
    while (std::getline(std::cin, line)) {
        ++line_number;
        text::json value;
        try {
            value = text::json::parse(line);
        } catch (const text::json::exception&) {
            detail::throw_error("stdin line ", line_number, ": expected a JSON string, found '",
                                line.substr(0, 40), "'");
        }
        if (!value.is_string())
            detail::throw_error("stdin line ", line_number, ": expected a JSON string, found ",
                                value.type_name());
        texts.push_back(value.get<std::string>());
        if (texts.size() == kBlock) flush();
    }
    flush();
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace tandem::cli
