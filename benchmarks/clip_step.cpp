// One CLIP ViT-B/32 training step (both towers forward, CLIP loss, backward, AdamW) at
// batch 8 and 32, and inference throughput at batch 32, beside the same model in
// PyTorch (benchmarks/clip_step_torch.py, same threads, OMP_WAIT_POLICY=PASSIVE), with
// model-FLOP utilisation against the GEMM ceiling measured here.
// Run from the build directory: benchmarks/clip_step [threads] [path/to/clip_step_torch.py]
// (TANDEM_BENCH_PYTHON picks the Python with torch, e.g. the venv of benchmarks/setup_venv.sh).
#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/optim/adamw.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "gemm_time.hpp"

using namespace tandem;

namespace {

struct Macs {
    double text, vision;
};

// Multiply-adds of one forward pass per tower, from the configuration.
Macs forward_macs(const io::CLIPConfig& c, double batch) {
    auto tower = [](double tokens, double d, double mlp, double layers) {
        return layers * (tokens * (4 * d * d + 2 * d * mlp) + 2 * tokens * tokens * d);
    };
    const auto& t = c.text_config;
    const auto& v = c.vision_config;
    const double patches = double(v.num_patches()), patch_in = 3.0 * v.patch_size * v.patch_size;
    const double text = tower(double(t.max_position_embeddings), double(t.hidden_size),
                              double(t.intermediate_size), double(t.num_hidden_layers)) +
                        double(t.hidden_size) * double(c.projection_dim);
    const double vision =
        patches * patch_in * double(v.hidden_size) +
        tower(patches + 1, double(v.hidden_size), double(v.intermediate_size), double(v.num_hidden_layers)) +
        double(v.hidden_size) * double(c.projection_dim);
    return {batch * text, batch * vision};
}

TextBatch<Cpu> make_text(index_t batch) {
    std::vector<std::int64_t> ids;
    Philox rng(1, 1);
    for (index_t i = 0; i < batch * 77; ++i)
        ids.push_back(i % 77 == 76 ? 49407 : std::int64_t(rng.below(49407, std::uint64_t(i))));
    return TextBatch<Cpu>::from_host(ids, batch, 77);
}

Tensor<Cpu, float> make_pixels(index_t batch) {
    std::vector<float> v(static_cast<std::size_t>(batch * 3 * 224 * 224));
    Philox rng(2, 2);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(rng.normal(i));
    return Tensor<Cpu, float>::from_vector(v, {batch, 3, 224, 224});
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    const std::string self = argv[0];
    const std::string dir = self.substr(0, self.find_last_of('/') + 1);
    const std::string script = argc > 2 ? argv[2] : dir + "../../benchmarks/clip_step_torch.py";

    std::map<std::string, double> torch_seconds;
    {
        const std::string t = std::to_string(threads);
        FILE* pipe = popen(("OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=" + t +
                            " ${TANDEM_BENCH_PYTHON:-/usr/bin/python3} " + script + " " + t + " 2>/dev/null")
                               .c_str(),
                           "r");
        char name[64];
        int batch;
        double seconds;
        char line[256];
        while (pipe && std::fgets(line, sizeof line, pipe))
            if (std::sscanf(line, "%63s %d %lf", name, &batch, &seconds) == 3)
                torch_seconds[std::string(name) + " " + std::to_string(batch)] = seconds;
        if (pipe) pclose(pipe);
    }

    const double ceiling = bench::gemm_gflops(bench::clip_step_shapes[0], threads);
    set_num_threads(threads);
    io::CLIPConfig config;  // the defaults are openai/clip-vit-base-patch32's sizes
    CLIPModel<Cpu, float> model(config);
    model.for_each_parameter(
        [&](const std::string&, Parameter p) { init_normal(model.parameters(), p, 0.02, 0); });
    AdamW<Cpu, float> optimizer(model.parameters(), {.lr = 1e-5f});

    std::printf("machine: %s, %d threads; GEMM ceiling (2048^3 SGEMM, %d threads): %.1f GFLOP/s\n",
                bench::cpu_model().c_str(), threads, threads, ceiling);
    std::printf("model: CLIP ViT-B/32 (%.1f M parameters), float32\n\n",
                double(model.parameters().numel()) / 1e6);
    std::printf("| work | batch | tandem s | PyTorch s | PyTorch / tandem | tandem MFU | PyTorch MFU |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    auto row = [&](const char* what, index_t batch, double ours, double flops) {
        const auto it = torch_seconds.find(std::string(what) + " " + std::to_string(batch));
        const double theirs = it == torch_seconds.end() ? 0 : it->second;
        std::printf("| %s | %ld | %.3f | %.3f | %.2f | %.0f %% | %.0f %% |\n", what, long(batch), ours,
                    theirs, theirs > 0 ? theirs / ours : 0.0, 100 * flops / ours / 1e9 / ceiling,
                    theirs > 0 ? 100 * flops / theirs / 1e9 / ceiling : 0.0);
    };
    for (index_t batch : {8, 32}) {
        const auto text = make_text(batch);
        const auto pixels = make_pixels(batch);
        const double seconds = bench::best_seconds(
            [&] {
                Graph<Cpu, float> g;
                auto loss = clip_loss(model.forward(g, text, g.input(pixels)).logits_per_text);
                optimizer.zero_grad();
                g.backward(loss);
                optimizer.step();
            },
            2);
        const Macs macs = forward_macs(config, double(batch));
        row("train_step", batch, seconds, 6 * (macs.text + macs.vision));
    }
    const auto text = make_text(32);
    const auto pixels = make_pixels(32);
    NoGradGuard no_grad;
    const double image_seconds = bench::best_seconds(
        [&] {
            Graph<Cpu, float> g;
            model.encode_image(g, g.input(pixels));
        },
        3);
    const double text_seconds = bench::best_seconds(
        [&] {
            Graph<Cpu, float> g;
            model.encode_text(g, text);
        },
        3);
    const Macs macs = forward_macs(config, 32);
    row("encode_image", 32, image_seconds, 2 * macs.vision);
    row("encode_text", 32, text_seconds, 2 * macs.text);
    std::printf(
        "\nbest of 2 (training) or 3 (inference) runs after a warm-up; MFU = model FLOPs / time / "
        "ceiling.\n");
    std::printf("images/s at batch 32: tandem %.1f, PyTorch %.1f; texts/s: tandem %.1f, PyTorch %.1f\n",
                32 / image_seconds,
                torch_seconds.count("encode_image 32") ? 32 / torch_seconds["encode_image 32"] : 0.0,
                32 / text_seconds,
                torch_seconds.count("encode_text 32") ? 32 / torch_seconds["encode_text 32"] : 0.0);
}
