// tokenizer.json: parse, build the pipeline, then encode, encode_pair, a padded batch
// and decode with it. Input: the JSON, a NUL byte, then the text to encode.
#include <tandem/text/tokenizer.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto [file, text] = tandem::fuzz::split_at_nul(tandem::fuzz::as_text(data, size));
    tandem::fuzz::expect_clean([&, file = file, text = text] {
        auto tokenizer = tandem::Tokenizer::from_json(tandem::detail::parse_json(file, "tokenizer.json"),
                                                      "tokenizer.json");
        // Both UTF-8 policies: the error path and the U+FFFD repair path.
        tokenizer.set_invalid_utf8(text.size() % 2 ? tandem::text::InvalidUtf8::Replace
                                                   : tandem::text::InvalidUtf8::Error);
        const auto half = text.substr(0, text.size() / 2), rest = text.substr(text.size() / 2);
        tandem::fuzz::expect_clean([&] {
            const auto one = tokenizer.encode(text);
            (void)tokenizer.decode(one.ids, true);
            (void)tokenizer.decode(one.ids, false);
            (void)tokenizer.convert_ids_to_tokens(one.ids);
        });
        tandem::fuzz::expect_clean([&] { (void)tokenizer.encode_pair(half, rest, text.size() % 3 != 0); });
        tandem::fuzz::expect_clean([&] {
            (void)tokenizer.encode_batch({std::string(half), std::string(rest), std::string()});
        });
        (void)tokenizer.to_json();
    });
    return 0;
}
