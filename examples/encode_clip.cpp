// The README's encode example, built so that it keeps compiling, and the program whose
// compile time the README states: texts and images in one space with a CLIP folder. The
// library's instantiations are compiled once, in instantiate_infer.cpp.
// Usage: encode_clip MODEL_DIR TEXT... IMAGE.png...   (arguments naming files are images)
#include <tandem/infer/instantiate.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: encode_clip MODEL_DIR TEXT... IMAGE...\n");
        return 2;
    }
    try {
        const auto model = tandem::SentenceTransformer<tandem::Cpu>::load(argv[1]);
        std::vector<std::string> texts;
        std::vector<std::filesystem::path> images;
        for (int i = 2; i < argc; ++i) {
            if (std::filesystem::is_regular_file(argv[i]))
                images.emplace_back(argv[i]);
            else
                texts.emplace_back(argv[i]);
        }
        const auto scores = model.similarity(model.encode(texts), model.encode(images));
        for (std::size_t t = 0; t < texts.size(); ++t) {
            std::printf("%-30s", texts[t].c_str());
            for (std::size_t i = 0; i < images.size(); ++i) std::printf(" %7.4f", scores(t, i));
            std::printf("\n");
        }
    } catch (const tandem::Error& e) {
        std::fprintf(stderr, "encode_clip: %s\n", e.what());
        return 1;
    }
}
