// Full training steps through SentenceTransformerTrainer with MultipleNegativesRankingLoss
// (scale 20, cos_sim; anchor = caption, positive = image), data loading included
// (tokenising captions, preprocessing decoded RGB uint8 images), for the tiny CLIP of the
// Fashion-MNIST demo and for CLIP ViT-B/32 from scratch, at batch 32 and 128. In the same
// run it starts benchmarks/train_step_torch.py (a plain PyTorch loop over transformers'
// CLIPModel) and benchmarks/train_step_st.py (sentence-transformers' own trainer) on the
// same configuration, tokenizer, image processor, captions and pixels, which it writes to
// a work folder, and prints steps/s beside tandem's MFU against the GEMM ceiling.
// Run from the build directory: benchmarks/train_step [--help]
// (TANDEM_BENCH_PYTHON picks the Python, default /tmp/tandem-bench-venv/bin/python).
#include <tandem/backend/cpu.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>
#include <tandem/models/clip_init.hpp>
#include <tandem/train/trainer.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../tools/commands/fashion_mnist.hpp"
#include "gemm_time.hpp"

using namespace tandem;
namespace fashion_mnist = tandem::cli::fashion_mnist;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Template row % 5 of class (row / 5) % 10, as the Python scripts do, so every side sees
// the same captions.
std::string caption(std::size_t row) { return fashion_mnist::caption(row % 5, row / 5 % 10); }

// Pixel k of image `row`: a 32-bit integer hash, the same in the Python scripts.
std::uint8_t pixel(std::uint32_t row, std::uint32_t pixels_per_image, std::uint32_t k) {
    std::uint32_t x = row * pixels_per_image + k + 12345u;
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    return std::uint8_t(x & 255u);
}

struct Setup {
    std::string name;  // "tiny" or "vit-b32", as the Python scripts know them
    std::string title;
    io::CLIPConfig config;
    fs::path folder;  // config.json, tokenizer files, preprocessor_config.json
    std::size_t image_side, image_channels;
    std::int64_t steps;
};

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// The demo's tokenizer, with the configuration transformers' PreTrainedTokenizerFast reads.
void write_tiny_tokenizer(const fs::path& dir) {
    fashion_mnist::caption_tokenizer().save(dir / "tokenizer.json");
    write_file(dir / "tokenizer_config.json", nlohmann::json{{"tokenizer_class", "PreTrainedTokenizerFast"},
                                                             {"model_max_length", 16},
                                                             {"bos_token", "<|startoftext|>"},
                                                             {"eos_token", "<|endoftext|>"},
                                                             {"pad_token", "<|endoftext|>"},
                                                             {"unk_token", "[UNK]"}}
                                                  .dump(2));
}

Setup tiny_setup(const fs::path& work, std::int64_t steps) {
    Setup s{"tiny", "tiny CLIP of the Fashion-MNIST demo (28 px grey images, word-level captions)",
            {},     work / "tiny",
            28,     1,
            steps};
    fs::create_directories(s.folder);
    write_tiny_tokenizer(s.folder);
    s.config = fashion_mnist::model_config(Tokenizer::from_folder(s.folder).model().vocab_size());
    write_file(s.folder / "preprocessor_config.json", fashion_mnist::processor().to_json().dump(2));
    return s;
}

Setup vit_setup(const fs::path& work, std::int64_t steps) {
    // io::CLIPConfig's defaults are openai/clip-vit-base-patch32's (transformers' CLIPConfig) sizes.
    Setup s{"vit-b32", "CLIP ViT-B/32 from scratch (256x256 RGB images resized and cropped to 224, CLIP BPE)",
            {},        work / "vit-b32",
            256,       3,
            steps};
    fs::create_directories(s.folder);
    const fs::path shared = fs::path(TANDEM_SOURCE_ROOT) / "../shared/data";
    for (const char* f :
         {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"})
        fs::copy_file(shared / "tokenizers/clip-vit-base-patch32" / f, s.folder / f,
                      fs::copy_options::overwrite_existing);
    fs::copy_file(shared / "images/configs/clip_preprocessor_config_v2.json",
                  s.folder / "preprocessor_config.json", fs::copy_options::overwrite_existing);
    return s;
}

data::Dataset make_dataset(const Setup& s, std::size_t rows) {
    std::vector<std::string> texts;
    std::vector<data::ImageRef> images;
    const std::size_t n = s.image_side * s.image_side * s.image_channels;
    for (std::size_t r = 0; r < rows; ++r) {
        texts.push_back(caption(r));
        image::ImageU8 img = xt::zeros<std::uint8_t>({s.image_side, s.image_side, s.image_channels});
        for (std::size_t k = 0; k < n; ++k)
            img.data()[k] = pixel(std::uint32_t(r), std::uint32_t(n), std::uint32_t(k));
        images.push_back(data::decoded_image(img));
    }
    return data::Dataset({data::Column("caption", texts), data::Column("image", images)});
}

// From scratch as transformers' _init_weights: normal(0.02) weights, unit norms, zero biases.
// Multiply-adds of one forward pass of both towers at `batch`, texts of `text_tokens`.
double forward_macs(const io::CLIPConfig& c, double batch, double text_tokens) {
    auto tower = [](double tokens, double d, double mlp, double layers) {
        return layers * (tokens * (4 * d * d + 2 * d * mlp) + 2 * tokens * tokens * d);
    };
    const auto& t = c.text_config;
    const auto& v = c.vision_config;
    const double patches = double(v.num_patches()), patch_in = 3.0 * double(v.patch_size * v.patch_size);
    const double text =
        tower(text_tokens, double(t.hidden_size), double(t.intermediate_size), double(t.num_hidden_layers)) +
        double(t.hidden_size) * double(c.projection_dim);
    const double vision =
        patches * patch_in * double(v.hidden_size) +
        tower(patches + 1, double(v.hidden_size), double(v.intermediate_size), double(v.num_hidden_layers)) +
        double(v.hidden_size) * double(c.projection_dim);
    return batch * (text + vision);
}

// The end of every optimizer step.
class StepClock : public TrainerCallback {
public:
    std::vector<Clock::time_point> ends;
    void on_step_end(const Args&, const TrainerState&, TrainerControl&) override {
        ends.push_back(Clock::now());
    }
};

// Steps per second of `steps` timed trainer steps after `warmup` ones.
double tandem_steps_per_second(const Setup& s, std::int64_t batch, std::int64_t warmup, std::int64_t steps,
                               const fs::path& work) {
    CLIPModel<Cpu, float> model(s.config);
    init_clip_weights(model, 0);
    auto tokenizer = Tokenizer::from_folder(s.folder);
    data::Collator collator(std::move(tokenizer),
                            image::ImageProcessor::from_file(s.folder / "preprocessor_config.json"));
    SentenceTransformerTrainingArguments args;
    args.output_dir = (work / "tandem-output").string();
    args.max_steps = warmup + steps;
    args.per_device_train_batch_size = batch;
    args.learning_rate = 5e-5;
    args.save_strategy = "no";
    args.logging_steps = 1000000;
    auto clock = std::make_shared<StepClock>();
    TrainerOptions<CLIPModel<Cpu, float>> options{.callbacks = {clock}, .log_stream = nullptr};
    MultipleNegativesRankingLoss<Cpu, float> loss(
        {.scale = 20.0, .similarity_fct = SimilarityFunction::cos_sim});
    SentenceTransformerTrainer trainer(model, args, make_dataset(s, std::size_t(batch * (warmup + steps))),
                                       loss, collator, options);
    trainer.train();
    const auto& t = clock->ends;
    return double(steps) /
           std::chrono::duration<double>(t[std::size_t(warmup + steps - 1)] - t[std::size_t(warmup - 1)])
               .count();
}

// Runs `script` for one model and all batches; lines "KIND MODEL BATCH STEPS_PER_S" become
// results[BATCH], "versions ..." a line of the report.
std::map<std::int64_t, double> run_python(const std::string& script, const Setup& s,
                                          const std::vector<std::int64_t>& batches, std::int64_t warmup,
                                          int threads, const fs::path& work, std::string& versions) {
    std::string list;
    for (auto b : batches) list += (list.empty() ? "" : ",") + std::to_string(b);
    const fs::path log = work / (fs::path(script).stem().string() + "-" + s.name + ".log");
    const std::string t = std::to_string(threads);
    const std::string command = "OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=" + t +
                                " ${TANDEM_BENCH_PYTHON:-/tmp/tandem-bench-venv/bin/python} " + script + " " +
                                s.folder.string() + " " + s.name + " " + list + " " + std::to_string(warmup) +
                                " " + std::to_string(s.steps) + " " + t + " 2>" + log.string();
    std::map<std::int64_t, double> out;
    FILE* pipe = popen(command.c_str(), "r");
    char line[512];
    while (pipe && std::fgets(line, sizeof line, pipe)) {
        const std::string text = line;
        if (text.rfind("versions ", 0) == 0) {
            versions = text.substr(9, text.find_last_not_of('\n') - 8);
            continue;
        }
        char kind[32], model[32];
        long batch;
        double rate;
        if (std::sscanf(line, "%31s %31s %ld %lf", kind, model, &batch, &rate) == 4) out[batch] = rate;
    }
    const int status = pipe ? pclose(pipe) : -1;
    if (status != 0 || out.size() != batches.size())
        std::fprintf(stderr, "%s for %s: exit status %d, %zu of %zu results; see %s\n", script.c_str(),
                     s.name.c_str(), status, out.size(), batches.size(), log.c_str());
    return out;
}

std::int64_t longest_caption_tokens(const Setup& s, std::size_t rows) {
    const auto tokenizer = Tokenizer::from_folder(s.folder);
    std::size_t longest = 0;
    for (std::size_t r = 0; r < std::min<std::size_t>(rows, 50); ++r)
        longest = std::max(longest, tokenizer.encode(caption(r)).ids.size());
    return std::int64_t(longest);
}

const char* const usage =
    "usage: benchmarks/train_step [--threads N] [--warmup N] [--tiny-steps N] [--vit-steps N]\n"
    "                             [--batches 32,128] [--models tiny,vit-b32] [--no-torch] [--no-st]\n"
    "                             [--scripts DIR] [--keep]\n"
    "Times N steps after the warm-up ones (defaults: 2 threads, 1 warm-up, 50 tiny steps, 2 ViT steps).\n";

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2;
    std::int64_t warmup = 1, tiny_steps = 50, vit_steps = 2;
    std::vector<std::int64_t> batches = {32, 128};
    std::vector<std::string> models = {"tiny", "vit-b32"};
    bool torch = true, st = true, keep = false;
    const std::string self = argv[0];
    std::string scripts = self.substr(0, self.find_last_of('/') + 1) + "../../benchmarks";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), usage);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--threads")
            threads = std::stoi(value());
        else if (a == "--warmup")
            warmup = std::stoll(value());
        else if (a == "--tiny-steps")
            tiny_steps = std::stoll(value());
        else if (a == "--vit-steps")
            vit_steps = std::stoll(value());
        else if (a == "--batches") {
            batches.clear();
            for (const auto& b : split(value())) batches.push_back(std::stoll(b));
        } else if (a == "--models")
            models = split(value());
        else if (a == "--scripts")
            scripts = value();
        else if (a == "--no-torch")
            torch = false;
        else if (a == "--no-st")
            st = false;
        else if (a == "--keep")
            keep = true;
        else {
            std::fprintf(stderr, "%s%s", a == "--help" ? "" : ("unknown argument " + a + "\n").c_str(),
                         usage);
            return a == "--help" ? 0 : 2;
        }
    }
    if (warmup < 1 || tiny_steps < 1 || vit_steps < 1) {
        std::fprintf(stderr, "--warmup and the step counts must be at least 1\n%s", usage);
        return 2;
    }

    char work_template[] = "/tmp/tandem-train-step-XXXXXX";
    const fs::path work = mkdtemp(work_template);
    const double ceiling = bench::gemm_gflops(bench::clip_step_shapes[0], threads);
    set_num_threads(threads);
    std::printf("machine: %s, %d threads; GEMM ceiling (2048^3 SGEMM, %d threads): %.1f GFLOP/s\n",
                bench::cpu_model().c_str(), threads, threads, ceiling);
    std::printf(
        "SentenceTransformerTrainer + MultipleNegativesRankingLoss (scale 20, cos_sim; caption -> image), "
        "AdamW lr 5e-5, linear schedule, clipping at 1.0, data loading included; %lld warm-up step(s), "
        "then timed\n",
        (long long)warmup);
    std::string versions;
    for (const auto& name : models) {
        if (name != "tiny" && name != "vit-b32") {
            std::fprintf(stderr, "unknown model %s (tiny or vit-b32)\n", name.c_str());
            return 2;
        }
        const Setup s = name == "tiny" ? tiny_setup(work, tiny_steps) : vit_setup(work, vit_steps);
        write_file(s.folder / "config.json", s.config.to_json().dump(2));
        std::map<std::int64_t, double> ours;
        for (auto b : batches) ours[b] = tandem_steps_per_second(s, b, warmup, s.steps, work);
        // The Python runs get the memory that tandem's freed-block cache holds.
        Cpu::empty_cache();
        const auto theirs =
            torch ? run_python(scripts + "/train_step_torch.py", s, batches, warmup, threads, work, versions)
                  : std::map<std::int64_t, double>{};
        const auto trainer =
            st ? run_python(scripts + "/train_step_st.py", s, batches, warmup, threads, work, versions)
               : std::map<std::int64_t, double>{};

        const auto text_tokens = longest_caption_tokens(s, 50);
        std::printf("\n%s, %lld timed steps; MFU counts texts of %lld tokens (the longest caption)\n\n",
                    s.title.c_str(), (long long)s.steps, (long long)text_tokens);
        std::printf(
            "| batch | tandem steps/s | tandem samples/s | PyTorch steps/s | ST trainer steps/s | "
            "PyTorch / tandem time | ST / tandem time | tandem MFU |\n");
        std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        auto get = [](const std::map<std::int64_t, double>& m, std::int64_t b) {
            const auto it = m.find(b);
            return it == m.end() ? 0.0 : it->second;
        };
        for (auto b : batches) {
            const double rate = ours[b], t = get(theirs, b), tr = get(trainer, b);
            const double flops = 6 * forward_macs(s.config, double(b), double(text_tokens));
            auto cell = [](double v, const char* fmt) {
                char buf[32];
                std::snprintf(buf, sizeof buf, fmt, v);
                return v > 0 ? std::string(buf) : std::string("-");
            };
            std::printf("| %lld | %.3f | %.1f | %s | %s | %s | %s | %.1f %% |\n", (long long)b, rate,
                        rate * double(b), cell(t, "%.3f").c_str(), cell(tr, "%.3f").c_str(),
                        cell(t > 0 ? rate / t : 0, "%.2f").c_str(),
                        cell(tr > 0 ? rate / tr : 0, "%.2f").c_str(), 100 * flops * rate / 1e9 / ceiling);
        }
        std::fflush(stdout);
    }
    std::printf("\n%s\n", versions.empty() ? "(no Python side ran)" : versions.c_str());
    if (keep)
        std::printf("work folder kept: %s\n", work.c_str());
    else
        fs::remove_all(work);
}
