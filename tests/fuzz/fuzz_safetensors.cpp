// safetensors: the header checks, then every tensor read back in each type the file
// allows, as a checkpoint loader would.
#include <tandem/io/safetensors.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = tandem::fuzz::scratch_dir() / "model.safetensors";
    tandem::fuzz::write_file(path, tandem::fuzz::as_text(data, size));
    tandem::fuzz::expect_clean([&] {
        const auto file = tandem::io::SafetensorsFile::open(path);
        for (const auto& name : file.names()) {
            (void)file.info(name).numel();
            (void)file.data(name);
            tandem::fuzz::expect_clean([&] { (void)file.read_as<float>(name); });
            tandem::fuzz::expect_clean([&] { (void)file.read_as<double>(name); });
            tandem::fuzz::expect_clean([&] { (void)file.read_as<std::int64_t>(name); });
        }
    });
    return 0;
}
