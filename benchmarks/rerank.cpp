// Cross-encoder throughput: pairs scored per second by a ViLT-B/32-sized
// ViltForImageAndTextRetrieval (ViltConfig's defaults, dandelin/vilt-b32-finetuned-coco's
// sizes) and a BLIP-base BlipForImageTextRetrieval through its ITM head (BlipConfig's
// defaults, Salesforce/blip-itm-base-coco's sizes), random weights, at batch 32, texts of
// 40 tokens with 384x384 images (ViLT: 144 patches of 32; BLIP: 576 of 16),
// beside the real transformers class in PyTorch (benchmarks/rerank_torch.py) in the same run,
// same threads, with model-FLOP utilisation against the GEMM ceiling measured here.
// usage: rerank [THREADS] [path/to/rerank_torch.py]   (default 2 threads; TANDEM_BENCH_PYTHON:
// the Python with torch and transformers, e.g. the venv of benchmarks/setup_venv.sh)
#include <tandem/backend/cpu.hpp>
#include <tandem/models/blip.hpp>
#include <tandem/models/vilt.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gemm_time.hpp"

using namespace tandem;

namespace {

constexpr index_t kBatch = 32, kTextLength = 40, kImageSide = 384;
constexpr int kRepeats = 2;

std::map<std::string, double> torch_seconds(const std::string& script, int threads, std::string& versions) {
    const std::string command = "OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=" + std::to_string(threads) +
                                " ${TANDEM_BENCH_PYTHON:-/usr/bin/python3} " + script + " " +
                                std::to_string(threads) + " " + std::to_string(kBatch) + " " +
                                std::to_string(kTextLength) + " " + std::to_string(kRepeats) + " 2>/dev/null";
    std::map<std::string, double> out;
    FILE* pipe = popen(command.c_str(), "r");
    char line[512], name[64];
    int batch;
    double seconds;
    while (pipe && std::fgets(line, sizeof line, pipe)) {
        if (std::string(line).starts_with("versions "))
            versions = std::string(line + 9, std::strlen(line) - 10);
        else if (std::sscanf(line, "%63s %d %lf", name, &batch, &seconds) == 3)
            out[name] = seconds;
    }
    if (pipe) pclose(pipe);
    return out;
}

// Multiply-adds of a transformer stack over `tokens` positions.
double stack_macs(double layers, double tokens, double d, double mlp) {
    return layers * (tokens * (4 * d * d + 2 * d * mlp) + 2 * tokens * tokens * d);
}

// Multiply-adds of one forward pass of a pair: the patch projection and the transformer
// over text + class + patch tokens.
double vilt_macs(const io::ViltConfig& c, double text, double patches) {
    const double d = double(c.hidden_size);
    return patches * 3.0 * double(c.patch_size * c.patch_size) * d +
           stack_macs(double(c.num_hidden_layers), text + 1 + patches, d, double(c.intermediate_size)) +
           d * d;
}

// BLIP's ITM pass: the image tower over class + patch tokens, then the text layers, each
// cross-attending to the image tokens (query and output projections over the text, key and
// value over the image tokens, the scores and the weighted sum).
double blip_macs(const io::BlipConfig& c, double text, double patches) {
    const auto& v = c.vision_config;
    const auto& t = c.text_config;
    const double dv = double(v.hidden_size), dt = double(t.hidden_size), image = patches + 1;
    const double cross =
        double(t.num_hidden_layers) *
        (2 * text * dt * dt + 2 * image * double(t.encoder_hidden_size) * dt + 2 * text * image * dt);
    return patches * 3.0 * double(v.patch_size * v.patch_size) * dv +
           stack_macs(double(v.num_hidden_layers), image, dv, double(v.intermediate_size)) +
           stack_macs(double(t.num_hidden_layers), text, dt, double(t.intermediate_size)) + cross + 2 * dt;
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    const std::string self = argv[0];
    const std::string script =
        argc > 2 ? argv[2] : self.substr(0, self.find_last_of('/') + 1) + "../../benchmarks/rerank_torch.py";
    std::string versions = "PyTorch not found";
    const auto theirs = torch_seconds(script, threads, versions);

    const double ceiling = bench::gemm_gflops(bench::clip_step_shapes[0], threads);
    set_num_threads(threads);

    Philox rng(1, 1);
    std::vector<float> pixels(static_cast<std::size_t>(kBatch * 3 * kImageSide * kImageSide));
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = float(rng.normal(i));
    const auto pixel_values = Tensor<Cpu, float>::from_vector(pixels, {kBatch, 3, kImageSide, kImageSide});
    const auto random_text = [&](std::int64_t vocab_size) {
        std::vector<std::int64_t> ids(kBatch * kTextLength);
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 5 + std::int64_t(rng.below(vocab_size - 5, i));
        return TextBatch<Cpu>::from_host(ids, kBatch, kTextLength, std::vector<std::int64_t>(ids.size(), 1),
                                         std::vector<std::int64_t>(ids.size(), 0));
    };
    const auto randomise = [](auto& model) {
        model.for_each_parameter(
            [&](const std::string&, Parameter p) { init_normal(model.parameters(), p, 0.02, 0); });
    };
    NoGradGuard no_grad;

    std::printf("machine: %s, %d threads; GEMM ceiling (2048^3 SGEMM, %d threads): %.1f GFLOP/s\n",
                bench::cpu_model().c_str(), threads, threads, ceiling);
    std::printf("PyTorch side: %s\n\n", versions.c_str());
    std::printf(
        "| model | batch | tokens | tandem s | PyTorch s | tandem pairs/s | PyTorch pairs/s | "
        "PyTorch / tandem | tandem MFU | PyTorch MFU |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    const auto row = [&](const char* name, double parameters, long tokens, double ours, const char* key,
                         double flops) {
        const double torch = theirs.count(key) ? theirs.at(key) : 0.0;
        std::printf(
            "| %s (%.1f M parameters) | %ld | %ld | %.3f | %.3f | %.1f | %.1f | %.2f | %.0f %% | %.0f %% |\n",
            name, parameters / 1e6, long(kBatch), tokens, ours, torch, kBatch / ours,
            torch > 0 ? kBatch / torch : 0.0, torch > 0 ? torch / ours : 0.0,
            100 * flops / ours / 1e9 / ceiling, torch > 0 ? 100 * flops / torch / 1e9 / ceiling : 0.0);
    };
    {
        const io::ViltConfig config;
        ViltForImageAndTextRetrieval<Cpu, float> model(config);
        randomise(model);
        const auto text = random_text(config.vocab_size);
        const auto pixel_mask = Ids<Cpu>::from_vector(
            std::vector<std::int64_t>(kBatch * kImageSide * kImageSide, 1), {kBatch, kImageSide, kImageSide});
        const double seconds = bench::best_seconds(
            [&] {
                Graph<Cpu, float> g;
                model.forward(g, text, {g.input(pixel_values), pixel_mask});
            },
            kRepeats);
        const double patches = double((kImageSide / config.patch_size) * (kImageSide / config.patch_size));
        row("ViLT-B/32", double(model.parameters().numel()), long(kTextLength + 1 + index_t(patches)),
            seconds, "vilt", 2 * kBatch * vilt_macs(config, double(kTextLength), patches));
    }
    {
        const io::BlipConfig config;
        BlipForImageTextRetrieval<Cpu, float> model(config);
        randomise(model);
        const auto text = random_text(config.text_config.vocab_size);
        const double seconds = bench::best_seconds(
            [&] {
                Graph<Cpu, float> g;
                model.forward(g, text, g.input(pixel_values), true);
            },
            kRepeats);
        const index_t side = kImageSide / config.vision_config.patch_size;
        row("BLIP-base ITM", double(model.parameters().numel()), long(kTextLength + 1 + side * side), seconds,
            "blip", 2 * kBatch * blip_macs(config, double(kTextLength), double(side * side)));
    }
    std::printf(
        "\nbest of %d runs after a warm-up, float32, no gradient; tokens: text + image; MFU = model "
        "FLOPs / time / ceiling.\n",
        kRepeats);
}
