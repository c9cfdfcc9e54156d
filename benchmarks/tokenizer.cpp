// CLIP tokenizer throughput (tokens/s, MB/s) on 100k generated captions of 10-40
// words, on 1 and 2 threads, beside the Hugging Face Rust tokenizer (its native
// node binding, benchmarks/tokenizer_hf.mjs) doing the same work when available.
//
//   benchmarks/tokenizer [tokenizer.json] [NODE_MODULES_DIR]
//
// NODE_MODULES_DIR holds @anush008/tokenizers (a native build of HF tokenizers),
// e.g. after `npm install --ignore-scripts @anush008/tokenizers@0.6.0
// @anush008/tokenizers-linux-x64-gnu@0.6.0` in that folder's parent.
#include <tandem/text.hpp>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path source_root = TANDEM_SOURCE_ROOT;

// Deterministic captions: 10-40 words from a caption-like vocabulary, with
// capitals, digits, punctuation and the odd accented or CJK word.
std::vector<std::string> make_captions(size_t n) {
    static const char* words[] = {
        "a",     "the",      "photo", "of",      "cat",     "dog",    "sitting", "on",       "red",
        "car",   "street",   "two",   "people",  "walking", "beach",  "sunset",  "with",     "in",
        "an",    "image",    "blue",  "sky",     "green",   "tree",   "near",    "river",    "old",
        "man",   "woman",    "child", "playing", "ball",    "park",   "city",    "night",    "lights",
        "bowl",  "fruit",    "table", "wooden",  "A",       "The",    "Two",     "close-up", "black",
        "white", "mountain", "snow",  "covered", "bicycle", "café",   "naïve",   "東京",     "2024",
        "3",     "and",      "is",    "are",     "it's",    "they're"};
    constexpr size_t kWords = sizeof words / sizeof words[0];
    uint64_t state = 0x9E3779B97F4A7C15ull;
    const auto next = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const size_t count = 10 + next() % 31;
        std::string caption;
        for (size_t w = 0; w < count; ++w) {
            if (w) caption += ' ';
            caption += words[next() % kWords];
            if (next() % 11 == 0) caption += ",";
        }
        caption += next() % 3 ? "." : "!";
        out.push_back(std::move(caption));
    }
    return out;
}

std::string capture(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return {};
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
    return out;
}

struct Result {
    double seconds = 0;
    size_t tokens = 0;
};

Result run_tandem(const tandem::Tokenizer& t, const std::vector<std::string>& texts, int threads) {
    omp_set_num_threads(threads);
    Result best{1e30, 0};
    for (int run = 0; run < 3; ++run) {
        const auto start = std::chrono::steady_clock::now();
        const auto encodings = t.encode_batch(texts);
        size_t tokens = 0;
        for (const auto& e : encodings) tokens += e.ids.size();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = {std::min(best.seconds, s), tokens};
    }
    return best;
}

Result run_hf(const fs::path& modules, const fs::path& tokenizer, const fs::path& captions, int threads) {
    const auto out =
        capture("RAYON_NUM_THREADS=" + std::to_string(threads) + " TOKENIZERS_PARALLELISM=true node " +
                (source_root / "benchmarks" / "tokenizer_hf.mjs").string() + " " + modules.string() + " " +
                tokenizer.string() + " " + captions.string() + " 2>&1");
    Result r;
    const auto tokens = out.find("tokens "), seconds = out.find("seconds ");
    if (tokens == std::string::npos || seconds == std::string::npos) {
        std::fprintf(stderr, "HF tokenizer run failed: %s\n", out.c_str());
        return r;
    }
    r.tokens = std::strtoull(out.c_str() + tokens + 7, nullptr, 10);
    r.seconds = std::atof(out.c_str() + seconds + 8);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    const char* data = std::getenv("TANDEM_TEST_DATA");
    const fs::path tokenizer_path =
        argc > 1 && *argv[1] ? fs::path(argv[1])
                             : (data && *data ? fs::path(data) : source_root / ".." / "shared" / "data") /
                                   "tokenizers" / "clip-vit-base-patch32" / "tokenizer.json";
    const fs::path modules = argc > 2 ? fs::path(argv[2]) : fs::path();

    const auto captions = make_captions(100000);
    size_t bytes = 0;
    for (const auto& c : captions) bytes += c.size();
    const auto captions_file =
        fs::temp_directory_path() / ("tandem_bench_captions_" + std::to_string(::getpid()));
    {
        std::ofstream out(captions_file);
        for (const auto& c : captions) out << c << '\n';
    }

    const auto tokenizer = tandem::Tokenizer::from_file(tokenizer_path);
    std::printf("CLIP tokenizer, %zu captions, %.1f MB, encode with special tokens (best of 3)\n\n",
                captions.size(), bytes / 1e6);
    std::printf("| implementation | threads | tokens | seconds | tokens/s | MB/s | tandem / HF |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (int threads : {1, 2}) {
        const Result ours = run_tandem(tokenizer, captions, threads);
        Result hf;
        if (!modules.empty()) hf = run_hf(modules, tokenizer_path, captions_file, threads);
        std::printf(
            "| tandem | %d | %zu | %.3f | %.0f | %.2f | %s |\n", threads, ours.tokens, ours.seconds,
            ours.tokens / ours.seconds, bytes / 1e6 / ours.seconds,
            hf.seconds > 0 ? (std::to_string(hf.seconds / ours.seconds).substr(0, 4) + "x").c_str() : "");
        if (hf.seconds > 0) {
            std::printf("| HF tokenizers (Rust, node binding) | %d | %zu | %.3f | %.0f | %.2f | |\n", threads,
                        hf.tokens, hf.seconds, hf.tokens / hf.seconds, bytes / 1e6 / hf.seconds);
            if (hf.tokens != ours.tokens)
                std::printf("token counts differ: %zu vs %zu\n", ours.tokens, hf.tokens);
        }
    }
    fs::remove(captions_file);
    return 0;
}
