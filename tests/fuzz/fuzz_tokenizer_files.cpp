// The older tokenizer layouts: vocab.json + merges.txt (CLIP, GPT-2) and vocab.txt
// (BERT), each with a tokenizer_config.json, loaded as a folder and then used.
// Input: a layout byte, then the files separated by NUL bytes, then the text.
#include <tandem/text/tokenizer.hpp>

#include "fuzz.hpp"

#include <filesystem>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool bpe = data[0] & 1;
    const auto [first, rest1] = tandem::fuzz::split_at_nul(tandem::fuzz::as_text(data + 1, size - 1));
    const auto [second_part, rest2] = tandem::fuzz::split_at_nul(rest1);
    const auto [config, text_part] = tandem::fuzz::split_at_nul(rest2);
    // Plain variables: clang 14 cannot capture structured bindings in a lambda.
    const std::string_view second = second_part, text = text_part;
    const auto dir = tandem::fuzz::scratch_dir() / "folder";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    if (bpe) {
        tandem::fuzz::write_file(dir / "vocab.json", first);
        tandem::fuzz::write_file(dir / "merges.txt", second);
    } else {
        tandem::fuzz::write_file(dir / "vocab.txt", first);
    }
    if (!config.empty()) tandem::fuzz::write_file(dir / "tokenizer_config.json", config);
    tandem::fuzz::expect_clean([&] {
        const auto tokenizer = tandem::Tokenizer::from_folder(dir);
        tandem::fuzz::expect_clean([&] {
            const auto e = tokenizer.encode_pair(text, second.substr(0, 64));
            (void)tokenizer.decode(e.ids);
        });
    });
    return 0;
}
