// `tandem tokenize --tokenizer PATH [--max-length N] [--no-special-tokens]`: reads
// one JSON string per line on stdin and writes its token ids as one JSON array per
// line on stdout, in order. PATH is a tokenizer.json or a folder with a tokenizer.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/text/tokenizer.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "validators.hpp"

namespace tandem::cli {

struct TokenizeOptions {
    std::string tokenizer;
    std::size_t max_length = 0;
    bool no_special_tokens = false, replace_invalid = false;
};

inline int tokenize_run(const TokenizeOptions& o) {
    Tokenizer tokenizer = Tokenizer::from_file(o.tokenizer);
    const bool add_special = !o.no_special_tokens;
    if (o.replace_invalid) tokenizer.set_invalid_utf8(text::InvalidUtf8::Replace);
    if (o.max_length) tokenizer.enable_truncation({o.max_length});

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

inline void add_tokenize(CLI::App& app, int& status) {
    auto o = std::make_shared<TokenizeOptions>();
    CLI::App* sub = app.add_subcommand(
        "tokenize", "encode JSON strings from stdin with a Hugging Face tokenizer, one id array per line");
    sub->footer("Reads one JSON string per line on stdin, writes its token ids as a JSON array per line.\n");
    sub->add_option("--tokenizer", o->tokenizer,
                    "tokenizer.json, or a folder with tokenizer.json, vocab.json + merges.txt (CLIP, GPT-2) "
                    "or vocab.txt (BERT)")
        ->required();
    sub->add_option("--max-length", o->max_length, "truncate to N tokens, special tokens included")
        ->check(integer_at_least(1));
    sub->add_flag("--no-special-tokens", o->no_special_tokens,
                  "leave out the special tokens the post-processor adds");
    sub->add_flag("--replace-invalid", o->replace_invalid,
                  "replace bytes that are not UTF-8 by U+FFFD instead of failing");
    sub->callback([o, &status] { status = tokenize_run(*o); });
}

}  // namespace tandem::cli
