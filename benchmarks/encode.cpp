// SentenceTransformer::encode end to end, beside Python's SentenceTransformer.encode on
// the same folder in the same run: a random CLIP ViT-B/32 (openai/clip-vit-base-patch32's
// sizes, tokenizer and preprocessor_config.json) written as a Hugging Face folder, 256
// captions and 64 photo files (decoded inside the timed call), batch 32, on each thread
// count given. Prints inputs/s, the ratio to PyTorch, and model-FLOP utilisation against
// the GEMM ceiling measured here.
// usage: encode [THREADS...]   (default 1 2; TANDEM_BENCH_PYTHON: the Python with
// sentence-transformers, e.g. the venv of benchmarks/setup_venv.sh)
#include <tandem/backend/cpu.hpp>
#include <tandem/infer.hpp>
#include <tandem/models/clip.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gemm_time.hpp"

using namespace tandem;
namespace fs = std::filesystem;

namespace {

// Captions of 4 to 20 words, the same every run.
std::vector<std::string> captions(std::size_t n) {
    const char* words[] = {"a",   "photo", "of",     "the",  "small", "red",    "dog",    "running", "on",
                           "wet", "sand",  "beside", "an",   "old",   "wooden", "boat",   "under",   "grey",
                           "sky", "with",  "two",    "kids", "and",   "their",  "bright", "kites"};
    std::vector<std::string> out;
    Philox rng(7, 7);
    for (std::size_t i = 0; i < n; ++i) {
        const auto length = 4 + rng.below(17, 2 * i);
        std::string text;
        for (std::uint64_t w = 0; w < length; ++w)
            text += (w ? " " : "") + std::string(words[rng.below(std::size(words), 1000 * i + w)]);
        out.push_back(text);
    }
    return out;
}

// Multiply-adds of one tower forward pass over `tokens` positions.
double tower_macs(double tokens, double d, double mlp, double layers) {
    return layers * (tokens * (4 * d * d + 2 * d * mlp) + 2 * tokens * tokens * d);
}

std::map<std::string, double> python_seconds(const fs::path& script, const fs::path& folder, int threads,
                                             int repeats, const fs::path& texts,
                                             const std::vector<fs::path>& images, std::string& versions) {
    std::string command = "OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=" + std::to_string(threads) +
                          " ${TANDEM_BENCH_PYTHON:-/usr/bin/python3} " + script.string() + " " +
                          folder.string() + " " + std::to_string(threads) + " " + std::to_string(repeats) +
                          " " + texts.string();
    for (const auto& p : images) command += " " + p.string();
    std::map<std::string, double> out;
    FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
    char line[512], name[64];
    double seconds;
    while (pipe && std::fgets(line, sizeof line, pipe)) {
        if (std::string(line).starts_with("versions "))
            versions = std::string(line + 9, std::strlen(line) - 10);
        else if (std::sscanf(line, "%63s %lf", name, &seconds) == 2)
            out[name] = seconds;
    }
    if (pipe) pclose(pipe);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> thread_counts;
    for (int i = 1; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
    if (thread_counts.empty()) thread_counts = {1, 2};
    const fs::path source = TANDEM_SOURCE_ROOT;
    const fs::path shared = source / "../shared/data";
    const fs::path work = fs::temp_directory_path() / "tandem-bench-encode";
    fs::remove_all(work);
    const fs::path folder = work / "clip-vit-b-32-random";
    fs::create_directories(folder);

    io::CLIPConfig config;  // the defaults are openai/clip-vit-base-patch32's sizes
    {
        CLIPModel<Cpu, float> model(config);
        model.for_each_parameter(
            [&](const std::string&, Parameter p) { init_normal(model.parameters(), p, 0.02, 0); });
        model.save_pretrained(folder);
    }
    for (const char* f :
         {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"})
        fs::copy_file(shared / "tokenizers/clip-vit-base-patch32" / f, folder / f);
    fs::copy_file(shared / "images/configs/clip_preprocessor_config_v2.json",
                  folder / "preprocessor_config.json");

    const auto texts = captions(256);
    {
        std::ofstream out(work / "texts.txt");
        for (const auto& t : texts) out << t << "\n";
    }
    std::vector<fs::path> images;
    const char* photos[] = {"astronaut.png",         "chelsea.png", "coffee.png",
                            "hubble_deep_field.jpg", "retina.jpg",  "rocket.jpg"};
    for (std::size_t i = 0; i < 64; ++i) images.push_back(shared / "images" / photos[i % std::size(photos)]);

    const auto model = SentenceTransformer<Cpu>::load(folder);
    EncodeOptions o;
    o.batch_size = 32;
    // The model FLOPs of the text calls: each length-sorted batch padded to its longest text.
    double text_macs = 0;
    {
        std::vector<std::size_t> lengths;
        for (const auto& t : texts)
            lengths.push_back(std::min<std::size_t>(model.collator().tokenizer()->encode(t).ids.size(), 77));
        std::vector<std::size_t> order(texts.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return texts[a].size() > texts[b].size(); });
        const auto& t = config.text_config;
        for (std::size_t b = 0; b < order.size(); b += 32) {
            std::size_t longest = 0;
            for (std::size_t k = b; k < std::min(order.size(), b + 32); ++k)
                longest = std::max(longest, lengths[order[k]]);
            text_macs += double(std::min<std::size_t>(32, order.size() - b)) *
                         (tower_macs(double(longest), double(t.hidden_size), double(t.intermediate_size),
                                     double(t.num_hidden_layers)) +
                          double(t.hidden_size) * double(config.projection_dim));
        }
    }
    const auto& v = config.vision_config;
    const double patch_in = 3.0 * v.patch_size * v.patch_size, patches = double(v.num_patches());
    const double image_macs =
        double(images.size()) * (patches * patch_in * double(v.hidden_size) +
                                 tower_macs(patches + 1, double(v.hidden_size), double(v.intermediate_size),
                                            double(v.num_hidden_layers)) +
                                 double(v.hidden_size) * double(config.projection_dim));

    const int repeats = 3;
    std::printf("model: random CLIP ViT-B/32 (%s), float32; %zu captions, %zu photo files, batch 32\n",
                folder.c_str(), texts.size(), images.size());
    std::printf("machine: %s\n\n", bench::cpu_model().c_str());
    std::printf(
        "| threads | input | tandem /s | ST default /s | ST PIL /s | tandem / ST default | tandem / ST PIL | "
        "tandem MFU | ceiling GFLOP/s |\n|---|---|---|---|---|---|---|---|---|\n");
    std::string versions;
    for (const int threads : thread_counts) {
        const double ceiling = bench::gemm_gflops(bench::clip_step_shapes[0], threads);
        set_num_threads(threads);
        const double text_s = bench::best_seconds([&] { model.encode(texts, o); }, repeats);
        const double image_s = bench::best_seconds([&] { model.encode(images, o); }, repeats);
        const auto theirs = python_seconds(source / "benchmarks/encode_st.py", folder, threads, repeats,
                                           work / "texts.txt", images, versions);
        const auto rate = [](double n, const std::map<std::string, double>& m, const char* key) {
            const auto it = m.find(key);
            return it == m.end() ? 0.0 : n / it->second;
        };
        const double n_texts = double(texts.size()), n_images = double(images.size());
        const double st_texts = rate(n_texts, theirs, "texts");
        const double st_default = rate(n_images, theirs, "images_default"),
                     st_pil = rate(n_images, theirs, "images_pil");
        std::printf("| %d | texts | %.1f | %.1f | | %.2f | | %.0f %% | %.1f |\n", threads, n_texts / text_s,
                    st_texts, st_texts > 0 ? n_texts / text_s / st_texts : 0.0,
                    100 * 2 * text_macs / text_s / 1e9 / ceiling, ceiling);
        std::printf("| %d | images | %.1f | %.1f | %.1f | %.2f | %.2f | %.0f %% | %.1f |\n", threads,
                    n_images / image_s, st_default, st_pil,
                    st_default > 0 ? n_images / image_s / st_default : 0.0,
                    st_pil > 0 ? n_images / image_s / st_pil : 0.0,
                    100 * 2 * image_macs / image_s / 1e9 / ceiling, ceiling);
    }
    std::printf(
        "\nPython: %s\nbest of %d calls after a warm-up; MFU = model FLOPs / time / ceiling (2048^3 "
        "SGEMM on the same threads).\n",
        versions.empty() ? "not run (set TANDEM_BENCH_PYTHON)" : versions.c_str(), repeats);
    fs::remove_all(work);
}
