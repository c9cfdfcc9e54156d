// `tandem demo fashion-mnist`: a small CLIP trained from scratch on Fashion-MNIST
// image-caption pairs (the dataset Debian ships), evaluated zero-shot on the 10k test
// images, saved as a sentence-transformers folder (the CLIPModel with its tokenizer and
// processor, which Python's SentenceTransformer opens), and
// reported as metrics.json and report.html. The data and model are fashion_mnist.hpp's,
// which benchmarks/train_step times.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/backend/xtensor.hpp>
#include <tandem/data/readers/idx.hpp>
#include <tandem/eval/zero_shot.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/models/clip_init.hpp>
#include <tandem/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <xtensor/xview.hpp>

#include "fashion_mnist.hpp"
#include "report.hpp"
#include "validators.hpp"

namespace tandem::cli {

namespace demo {

namespace fs = std::filesystem;
using namespace fashion_mnist;

struct Options {
    fs::path out;
    fs::path data = "/usr/share/datasets/fashion-mnist";
    std::int64_t steps = 1000;
    int threads = 2;
    std::uint64_t seed = 42;
    std::size_t train_size = 20000;
    std::int64_t batch_size = 128;
};

// Grey 28x28 images and their classes, from the IDX files (gzipped or not).
struct Images {
    std::vector<data::ImageRef> images;
    std::vector<std::int64_t> labels;
    std::shared_ptr<const std::vector<std::uint8_t>> pixels;
    std::size_t offset = 0, side = 28;
};

inline Images read_images(const fs::path& dir, const std::string& split) {
    auto find = [&](const std::string& stem) {
        for (const auto& name : {stem, stem + ".gz"})
            if (fs::exists(dir / name)) return dir / name;
        detail::throw_error((dir / stem).string(),
                            "[.gz]: not found; install Debian's dataset-fashion-mnist ",
                            "or pass --data DIR");
    };
    const auto x = data::read_idx_array(find(split + "-images-idx3-ubyte"));
    const auto y = data::read_idx_array(find(split + "-labels-idx1-ubyte"));
    if (x.shape.size() != 3 || y.shape.size() != 1 || x.shape[0] != y.shape[0])
        detail::throw_error(dir.string(), ": ", split, " images and labels do not match (", x.shape.size(),
                            "-d images, ", y.shape.size(), "-d labels)");
    Images out{{}, {}, x.data, x.offset, x.shape[1]};
    const std::size_t n = x.shape[0], h = x.shape[1], w = x.shape[2];
    for (std::size_t i = 0; i < n; ++i) {
        out.images.push_back(data::DecodedImage{x.data, x.offset + i * h * w, h, w, 1});
        const auto label = static_cast<std::int64_t>((*y.data)[y.offset + i]);
        if (label < 0 || label >= static_cast<std::int64_t>(classes.size()))
            detail::throw_error(dir.string(), ": ", split, " label ", i, " is ", label, ", expected 0 to 9");
        out.labels.push_back(label);
    }
    return out;
}

// A word-level vocabulary of the captions, with CLIP's start and end tokens around each.
// Wall time of each optimizer step, for the median.
class StepTimer : public TrainerCallback {
public:
    void on_step_end(const Args&, const TrainerState&, TrainerControl&) override {
        const auto now = std::chrono::steady_clock::now();
        milliseconds.push_back(std::chrono::duration<double, std::milli>(now - last_).count());
        last_ = now;
    }
    void on_epoch_begin(const Args&, const TrainerState&, TrainerControl&) override {
        if (milliseconds.empty()) last_ = std::chrono::steady_clock::now();
    }
    double median() const {
        if (milliseconds.empty()) return 0;
        auto v = milliseconds;
        std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
        return v[v.size() / 2];
    }
    std::vector<double> milliseconds;

private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// L2-normalised embeddings [rows, dim] of one column, in eval mode, `chunk` rows at a time.
template <class Model>
xt::xtensor<float, 2> embed(const Model& model, const data::Collator& collator, const data::Dataset& d,
                            std::size_t chunk) {
    std::vector<xt::xtensor<float, 2>> parts;
    for (std::size_t begin = 0; begin < d.size(); begin += chunk) {
        std::vector<std::size_t> rows;
        for (std::size_t r = begin; r < std::min(d.size(), begin + chunk); ++r) rows.push_back(r);
        const auto batch = data::Batch<Cpu>::from_host(collator.collate(d, rows, 0));
        NoGradGuard no_grad;
        Graph<Cpu, float> g;
        parts.push_back(to_xarray(l2_normalize(encode_column(model, g, batch.inputs[0])).value()));
    }
    std::size_t rows = 0;
    for (const auto& p : parts) rows += p.shape(0);
    xt::xtensor<float, 2> out = xt::empty<float>({rows, parts[0].shape(1)});
    std::size_t at = 0;
    for (const auto& p : parts) {
        xt::view(out, xt::range(at, at + p.shape(0)), xt::all()) = p;
        at += p.shape(0);
    }
    return out;
}

inline int run(const Options& o) {
    set_num_threads(o.threads);
    fs::create_directories(o.out);
    const auto train_images = read_images(o.data, "train");
    const auto test = read_images(o.data, "t10k");
    if (o.train_size == 0 || o.train_size > train_images.images.size())
        detail::throw_error("option --train-size: expected 1 to ", train_images.images.size(), ", found ",
                            o.train_size);

    // A fixed subset chosen by the seed, each image with one caption of its class.
    const auto order = data::permutation(train_images.images.size(), o.seed);
    const Philox pick(o.seed, 1);
    std::vector<std::string> captions;
    std::vector<data::ImageRef> images;
    nlohmann::json subset = {{"rows", nlohmann::json::array()}, {"templates", nlohmann::json::array()}};
    for (std::size_t i = 0; i < o.train_size; ++i) {
        const std::size_t row = order[i];
        const auto t =
            std::min(templates.size() - 1, std::size_t(pick.uniform(i) * double(templates.size())));
        captions.push_back(caption(t, std::size_t(train_images.labels[row])));
        images.push_back(train_images.images[row]);
        subset["rows"].push_back(row);
        subset["templates"].push_back(t);
    }
    // The training rows and caption templates, so a peer implementation trains on the same pairs.
    fs::create_directories(o.out / "training");
    detail::write_json_file(o.out / "training" / "train_subset.json", subset);
    const data::Dataset train({data::Column("caption", captions), data::Column("image", images)});

    const auto tokenizer = caption_tokenizer();
    const auto image_processor = processor();
    const data::Collator collator(tokenizer, image_processor, {.max_length = 16});
    CLIPModel<Cpu, float> model(model_config(tokenizer.model().vocab_size()));
    init_clip_weights(model, o.seed);

    SentenceTransformerTrainingArguments args;
    args.output_dir = (o.out / "training").string();
    args.max_steps = o.steps;
    args.per_device_train_batch_size = o.batch_size;
    args.learning_rate = 5e-4;
    args.weight_decay = 0.01;
    args.warmup_steps = std::min<std::int64_t>(100, o.steps / 10);
    args.lr_scheduler_type = "linear";
    args.max_grad_norm = 1.0;
    args.seed = static_cast<std::int64_t>(o.seed);
    args.logging_steps = std::max<std::int64_t>(1, o.steps / 100);
    args.save_strategy = "no";
    auto timer = std::make_shared<StepTimer>();
    TrainerOptions<CLIPModel<Cpu, float>> options;
    options.callbacks.push_back(timer);
    SentenceTransformerTrainer trainer(model, args, train, CLIPLoss<Cpu, float>(model.parameters()), collator,
                                       options);
    const auto trained = trainer.train();

    // Evaluation on the test set: images against the 50 captions.
    const data::Dataset test_images({data::Column("image", test.images)});
    const auto all_prompts = prompts();
    const data::Dataset prompt_texts({data::Column("caption", all_prompts)});
    const auto image_embeddings = embed(model, collator, test_images, 500);
    const auto prompt_embeddings = embed(model, collator, prompt_texts, 64);
    const xt::xtensor<float, 2> class_prompts =
        xt::view(prompt_embeddings, xt::range(0, classes.size()), xt::all());
    eval::ZeroShotClassificationEvaluator zero_shot(test.labels, {.top_k = {1}, .name = "fashion_mnist"});
    const auto zero_shot_metrics =
        zero_shot.evaluate(image_embeddings, class_prompts, {.output_path = o.out});
    const auto results = report::retrieval(image_embeddings, prompt_embeddings, test.labels, classes.size());

    nlohmann::json metrics = {{"zero_shot_accuracy", zero_shot_metrics.at("fashion_mnist_top1_accuracy")},
                              {"i2t_recall@1", results.i2t_recall_at_1},
                              {"t2i_recall@1", results.t2i_recall.at(0)},
                              {"t2i_recall@5", results.t2i_recall.at(1)},
                              {"t2i_recall@10", results.t2i_recall.at(2)},
                              {"train_seconds", trained.metrics.at("train_runtime")},
                              {"steps", trained.global_step},
                              {"step_ms_median", timer->median()},
                              {"images_per_second", trained.metrics.at("train_samples_per_second")},
                              {"threads", o.threads},
                              {"seed", o.seed}};
    detail::write_json_file(o.out / "metrics.json", metrics);
    report::write_html(o.out / "report.html",
                       {.title = "tandem: CLIP on Fashion-MNIST",
                        .metrics = metrics,
                        .log_history = trainer.state().log_history,
                        .classes = classes,
                        .class_prompts = std::vector<std::string>(
                            all_prompts.begin(), all_prompts.begin() + std::ptrdiff_t(classes.size())),
                        .results = results,
                        .test_pixels = test.pixels,
                        .test_offset = test.offset,
                        .side = test.side});
    ModelCardData card;
    card.model_name = "CLIP trained on Fashion-MNIST";
    card.train_datasets = {"fashion-mnist"};
    card.train_samples = train.size();
    card.loss = "CLIPLoss";
    for (const auto& [name, value] : metrics.items())
        if (name.find("accuracy") != std::string::npos || name.find("recall") != std::string::npos)
            card.metrics[name] = value.get<double>();
    // Last: the trainer holds the model until here.
    SentenceTransformer<Cpu, CLIPModel<Cpu, float>>(std::move(model), collator).save(o.out / "model", card);
    std::printf("%s\n", metrics.dump(2).c_str());
    return 0;
}

}  // namespace demo

inline void add_demo(CLI::App& app, int& status) {
    auto o = std::make_shared<demo::Options>();
    CLI::App* sub = app.add_subcommand(
        "demo",
        "train a small CLIP on Fashion-MNIST and report zero-shot accuracy (tandem demo fashion-mnist)");
    sub->footer(
        "Trains a small CLIP from scratch on Fashion-MNIST image-caption pairs (Debian's\n"
        "dataset-fashion-mnist, or the IDX files in --data), evaluates it zero-shot on the 10k test\n"
        "images and writes DIR/metrics.json, DIR/report.html, DIR/model (a sentence-transformers folder)\n"
        "and DIR/training (trainer_state.json, the training log, train_subset.json: the training\n"
        "rows and caption templates).\n");
    // Named on the command line (`tandem demo fashion-mnist`) so that other demos can join it.
    sub->add_option("name", "the demo to run: fashion-mnist")
        ->required()
        ->check(CLI::IsMember({"fashion-mnist"}));
    sub->add_option("--out", o->out, "the folder to write (DIR)")->required();
    sub->add_option("--steps", o->steps, "optimizer steps (default 1000)")->check(integer_at_least(1));
    sub->add_option("--threads", o->threads, "CPU threads (default 2)")->check(integer_at_least(1));
    sub->add_option("--seed", o->seed, "the seed of the training subset, captions and weights (default 42)")
        ->check(integer_at_least(0));
    sub->add_option(
        "--data", o->data,
        "the folder of the IDX files, gzipped or not (default /usr/share/datasets/fashion-mnist)");
    sub->add_option("--train-size", o->train_size, "training images drawn from the 60k (default 20000)")
        ->check(integer_at_least(1));
    sub->add_option("--batch-size", o->batch_size, "pairs per step (default 128)")
        ->check(integer_at_least(1));
    sub->callback([o, &status] { status = demo::run(*o); });
}

}  // namespace tandem::cli
