// config.json of every model family, read whole and written back. Input: a byte
// choosing the family, then the JSON.
#include <tandem/io/hf_config.hpp>

#include "fuzz.hpp"

namespace {

template <class Config>
void round_trip(std::string_view text) {
    const auto config = Config::from_json(tandem::detail::parse_json(text, "config.json"), "config.json");
    // What was accepted must be written and read back unchanged.
    if (!(Config::from_json(config.to_json(), "written") == config)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto text = tandem::fuzz::as_text(data + 1, size - 1);
    tandem::fuzz::expect_clean([&] {
        switch (data[0] % 7) {
            case 0:
                return round_trip<tandem::io::CLIPConfig>(text);
            case 1:
                return round_trip<tandem::io::CLIPTextConfig>(text);
            case 2:
                return round_trip<tandem::io::CLIPVisionConfig>(text);
            case 3:
                return round_trip<tandem::io::SiglipConfig>(text);
            case 4:
                return round_trip<tandem::io::SiglipTextConfig>(text);
            case 5:
                return round_trip<tandem::io::SiglipVisionConfig>(text);
            default:
                return round_trip<tandem::io::BertConfig>(text);
        }
    });
    return 0;
}
