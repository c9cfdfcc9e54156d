// The trainer end to end on a tiny CLIP trained from scratch on drawn shapes ("a red
// disc"): retrieval improves, runs repeat bit for bit at 1 and 2 threads, a run killed
// after (or while writing) a checkpoint resumes to the same bits, and bad input fails
// with messages that say what was expected.
#include <tandem/train/trainer.hpp>

#include <tandem/backend/cpu.hpp>
#include <tandem/losses/clip.hpp>
#include <tandem/losses/guided.hpp>
#include <tandem/losses/multiple_negatives_ranking.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "error_message.hpp"
#include "shapes.hpp"
#include "temp_dir.hpp"

using namespace tandem;
using namespace tandem::testing::drawn;

namespace {

// CLIP's objective on the model's own logit_scale, recording every loss it returns.
struct RecordingClipLoss {
    const Model* model;
    std::shared_ptr<std::vector<float>> seen = std::make_shared<std::vector<float>>();

    Var<Cpu, float> operator()(Graph<Cpu, float>& g, const std::vector<Var<Cpu, float>>& columns,
                               const LossLabels<Cpu, float>&) const {
        auto& store = model->parameters();
        auto logits = mul(cosine_similarity(columns[0], columns[1]),
                          exp(g.parameter(store, store.find("logit_scale"))));
        auto loss = clip_loss(logits);
        seen->push_back(loss.value().item());
        return loss;
    }
};

std::vector<float> weights(Model& m) { return m.parameters().values().to_vector(); }

// A CLIPModel whose save_pretrained SIGKILLs the process, half-way through writing the
// `kill_at`-th checkpoint: model files written, trainer_state.json not yet.
struct KilledWhileSaving {
    using backend_type = Cpu;
    using value_type = float;
    Model* model;
    int kill_at;
    std::shared_ptr<int> saves = std::make_shared<int>(0);

    template <class F>
    void for_each_parameter(F&& f) const {
        model->for_each_parameter(f);
    }
    ParameterStore<Cpu, float>& parameters() const { return model->parameters(); }
    void save_pretrained(const std::filesystem::path& dir) const {
        model->save_pretrained(dir);
        if (++*saves == kill_at) ::raise(SIGKILL);
    }
    Var<Cpu, float> encode_text(Graph<Cpu, float>& g, const TextBatch<Cpu>& t) const {
        return model->encode_text(g, t);
    }
    Var<Cpu, float> encode_image(Graph<Cpu, float>& g, const Var<Cpu, float>& p) const {
        return model->encode_image(g, p);
    }
};

class KillAfterSave : public TrainerCallback {
public:
    void on_save(const Args&, const TrainerState&, TrainerControl&, const std::filesystem::path&) override {
        ::raise(SIGKILL);
    }
};

// Runs `body` in a child process that must die of SIGKILL.
template <class F>
void in_child_killed(F body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            body();
        } catch (...) {
        }
        ::_exit(3);  // not killed: the parent's check fails
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

}  // namespace

TEST_CASE("a tiny CLIP trained from scratch on drawn shapes retrieves their images by caption") {
    set_num_threads(2);
    testing::TempDir dir("trainer_e2e");
    auto model = tiny_clip();
    const double before = recall_at_1(model);
    auto args = quiet_args(dir.path(), 300);
    // Batches of distinct captions: a repeated class would be a false negative of the loss.
    args.batch_sampler = "no_duplicates";
    args.per_device_train_batch_size = 16;
    args.learning_rate = 5e-3;
    args.save_steps = 60;
    args.save_total_limit = 1;
    SentenceTransformerTrainer trainer(model, args, shapes_dataset(320),
                                       CLIPLoss<Cpu, float>(model.parameters()), tiny_collator(), silent());
    const auto out = trainer.train();
    const double after = recall_at_1(model);
    MESSAGE("text-to-image recall@1: ", before, " before, ", after, " after ", out.global_step,
            " steps; train_loss ", out.training_loss, ", ", out.metrics.at("train_samples_per_second"),
            " samples/s");
    CHECK(out.global_step == 300);
    // Seeds 1 to 7 reach 0.875 to 1 (colour alone gives 0.25).
    CHECK(after >= 0.875);
    // log_history: a line every logging_steps, then the summary; the JSONL log holds the same.
    const auto& history = trainer.state().log_history;
    REQUIRE(history.size() == 31);
    CHECK(history[0].at("step") == 10);
    CHECK(history[0].contains("grad_norm"));
    CHECK(history[29].at("loss").get<double>() < history[0].at("loss").get<double>());
    CHECK(history[30].contains("train_runtime"));
    std::ifstream jsonl(dir.path() / "training_log.jsonl");
    std::string line;
    std::size_t lines = 0;
    while (std::getline(jsonl, line)) CHECK(nlohmann::json::parse(line) == history[lines++]);
    CHECK(lines == history.size());
    // save_total_limit 1 keeps only the last checkpoint, with everything a resume reads.
    CHECK(list_checkpoints(dir.path()) == std::vector<std::filesystem::path>{dir.path() / "checkpoint-300"});
    for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "scheduler.json",
                          "rng_state.json", "training_args.json", "trainer_state.json"})
        CHECK(std::filesystem::exists(dir.path() / "checkpoint-300" / f));
    CHECK(TrainerState::from_file(dir.path() / "trainer_state.json").global_step == 300);
}

TEST_CASE("the same seed gives the same losses and weights, bit for bit, at 1 and 2 threads") {
    auto run = [](int threads) {
        set_num_threads(threads);
        testing::TempDir dir("trainer_threads");
        auto model = tiny_clip();
        auto args = quiet_args(dir.path(), 8);
        args.gradient_accumulation_steps = 2;
        RecordingClipLoss loss{&model};
        SentenceTransformerTrainer trainer(model, args, shapes_dataset(128), loss, tiny_collator(), silent());
        trainer.train();
        return std::pair(*loss.seen, weights(model));
    };
    const auto one = run(1), two = run(2);
    CHECK(one.first.size() == 16);
    CHECK(one.first == two.first);
    CHECK(one.second == two.second);
    set_num_threads(2);
}

TEST_CASE("a run killed right after a checkpoint resumes to the same bits as one that never stopped") {
    // One thread: the child is forked from a process whose OpenMP pool it cannot use.
    set_num_threads(1);
    testing::TempDir dir("trainer_resume");
    constexpr std::int64_t steps = 8;
    auto args_for = [&](const std::filesystem::path& out) {
        auto a = quiet_args(out, steps);
        a.save_steps = steps / 2;
        a.logging_steps = 1;
        a.gradient_accumulation_steps = 2;  // 80 rows, batches of 32: a short batch ends each epoch
        return a;
    };
    auto uninterrupted = tiny_clip();
    SentenceTransformerTrainer full(uninterrupted, args_for(dir.path() / "full"), shapes_dataset(80),
                                    CLIPLoss<Cpu, float>(uninterrupted.parameters()), tiny_collator(),
                                    silent());
    const auto full_out = full.train();

    in_child_killed([&] {
        auto model = tiny_clip();
        auto options = silent();
        options.callbacks.push_back(std::make_shared<KillAfterSave>());
        SentenceTransformerTrainer t(model, args_for(dir.path() / "killed"), shapes_dataset(80),
                                     CLIPLoss<Cpu, float>(model.parameters()), tiny_collator(), options);
        t.train();
    });
    CHECK(list_checkpoints(dir.path() / "killed").size() == 1);

    auto resumed = tiny_clip(99);  // other initial weights: all must come from the checkpoint
    SentenceTransformerTrainer again(resumed, args_for(dir.path() / "killed"), shapes_dataset(80),
                                     CLIPLoss<Cpu, float>(resumed.parameters()), tiny_collator(), silent());
    const auto again_out = again.train("latest");
    CHECK(weights(resumed) == weights(uninterrupted));
    CHECK(again_out.training_loss == full_out.training_loss);
    // The log continues where the checkpoint left it: the same entries but the run summary.
    const auto& a = again.state().log_history;
    const auto& b = full.state().log_history;
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i + 1 < a.size(); ++i) CHECK(a[i] == b[i]);
    set_num_threads(2);
}

TEST_CASE("a run killed while writing a checkpoint resumes from the previous one, exactly") {
    set_num_threads(1);
    testing::TempDir dir("trainer_kill_in_save");
    constexpr std::int64_t steps = 9;
    auto args_for = [&](const std::filesystem::path& out) {
        auto a = quiet_args(out, steps);
        a.save_steps = 3;
        return a;
    };
    // The loss owns its logit_scale here, so the loss's parameters and optimizer resume too.
    auto uninterrupted = tiny_clip();
    SentenceTransformerTrainer full(uninterrupted, args_for(dir.path() / "full"), shapes_dataset(96),
                                    CLIPLoss<Cpu, float>(), tiny_collator(), silent());
    full.train();

    in_child_killed([&] {
        auto model = tiny_clip();
        KilledWhileSaving killing{&model, 2};
        SentenceTransformerTrainer t(killing, args_for(dir.path() / "killed"), shapes_dataset(96),
                                     CLIPLoss<Cpu, float>(), tiny_collator(),
                                     TrainerOptions<KilledWhileSaving>{.log_stream = nullptr});
        t.train();
    });
    // checkpoint-6 was being written: only its staging folder exists, checkpoint-3 is whole.
    CHECK(list_checkpoints(dir.path() / "killed") ==
          std::vector<std::filesystem::path>{dir.path() / "killed" / "checkpoint-3"});
    CHECK(std::filesystem::exists(dir.path() / "killed" / ".checkpoint-6.tmp" / "model.safetensors"));

    auto resumed = tiny_clip(99);
    SentenceTransformerTrainer again(resumed, args_for(dir.path() / "killed"), shapes_dataset(96),
                                     CLIPLoss<Cpu, float>(), tiny_collator(), silent());
    again.train("latest");
    CHECK(weights(resumed) == weights(uninterrupted));
    CHECK(again.loss().parameters().values().to_vector() == full.loss().parameters().values().to_vector());
    set_num_threads(2);
}

TEST_CASE("bad input stops with a message saying what was expected and what was found") {
    testing::TempDir dir("trainer_errors");
    auto model = tiny_clip();
    auto args = quiet_args(dir.path(), 2);
    auto error_of = [&](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    SUBCASE("an empty dataset") {
        const data::Dataset empty({data::Column("caption", std::vector<std::string>{}),
                                   data::Column("image", std::vector<data::ImageRef>{})});
        CHECK(error_of([&] {
                  SentenceTransformerTrainer(model, args, empty, CLIPLoss<Cpu, float>(model.parameters()),
                                             tiny_collator(), silent());
              }) == "SentenceTransformerTrainer: train_dataset is empty, expected at least one row");
    }
    SUBCASE("a loss given the wrong number of columns") {
        auto three = shapes_dataset(32);
        three = data::Dataset({three.column("caption"), three.column("image"),
                               data::Column("negative", std::vector<std::string>(32, "a red bar"))});
        SentenceTransformerTrainer t(model, args, three, CLIPLoss<Cpu, float>(model.parameters()),
                                     tiny_collator(), silent());
        CHECK(error_of([&] { t.train(); }) ==
              "CLIPLoss: needs 2 columns (text, image); got 3 columns and no label column");
    }
    SUBCASE("a loss that needs more columns than the dataset has") {
        const auto one = shapes_dataset(32).select_columns({"caption"});
        CHECK(error_of([&] {
                  SentenceTransformerTrainer(model, args, one, MultipleNegativesRankingLoss<Cpu, float>(),
                                             tiny_collator(), silent());
              }) ==
              "SentenceTransformerTrainer: MultipleNegativesRankingLoss needs 2 or more columns (anchor, "
              "positive, "
              "negative_1, ..., negative_n); train_dataset has 1 column ['caption'] and no label column");
    }
    SUBCASE("an unknown training argument") {
        CHECK(error_of([] {
                  SentenceTransformerTrainingArguments::from_json(nlohmann::json::parse(R"({"max_step": 5})"),
                                                                  "train.json");
              }) == "train.json: key 'max_step': unknown training argument (a misspelt name?)");
    }
    SUBCASE("a NaN loss") {
        struct NanLoss {
            Var<Cpu, float> operator()(Graph<Cpu, float>&, const std::vector<Var<Cpu, float>>& columns,
                                       const LossLabels<Cpu, float>&) const {
                return scale(sum(columns[0]), std::numeric_limits<float>::quiet_NaN());
            }
        };
        SentenceTransformerTrainer t(model, args, shapes_dataset(32), NanLoss{}, tiny_collator(), silent());
        CHECK(
            error_of([&] { t.train(); }) ==
            "training stopped at step 1 of 2: the loss is nan (not finite); lower learning_rate or check the "
            "data for empty or broken rows");
    }
}

TEST_CASE(
    "evaluations every eval_steps choose the best checkpoint; early stopping ends the run; the best loads") {
    testing::TempDir dir("trainer_eval");
    auto model = tiny_clip();
    auto args = quiet_args(dir.path(), 20);
    args.eval_strategy = "steps";
    args.eval_steps = 2;
    args.save_steps = 2;
    args.metric_for_best_model = "recall";
    args.load_best_model_at_end = true;
    const std::vector<double> scripted = {0.5, 0.9, 0.7, 0.6, 0.95};
    auto calls = std::make_shared<std::size_t>(0);
    auto options = silent();
    options.evaluator = [&, calls] { return Metrics{{"recall", scripted.at((*calls)++)}}; };
    options.callbacks.push_back(std::make_shared<EarlyStoppingCallback>(2));
    SentenceTransformerTrainer trainer(model, args, shapes_dataset(64),
                                       CLIPLoss<Cpu, float>(model.parameters()), tiny_collator(), options);
    const auto out = trainer.train();
    // 0.9 at step 4, then two evaluations without improvement: stopped at step 8.
    CHECK(out.global_step == 8);
    CHECK(*calls == 4);
    CHECK(trainer.state().best_metric == 0.9);
    CHECK(trainer.state().best_global_step == 4);
    CHECK(trainer.state().best_model_checkpoint == (dir.path() / "checkpoint-4").string());
    CHECK(trainer.state().log_history[0].at("eval_recall") == 0.5);
    const auto best = Model::from_pretrained(dir.path() / "checkpoint-4");
    CHECK(weights(model) == best.parameters().values().to_vector());
}

TEST_CASE("a loss per dataset: each batch goes to its own dataset's loss; a missing one is named") {
    testing::TempDir dir("trainer_loss_per_dataset");
    auto model = tiny_clip();
    auto args = quiet_args(dir.path(), 6);
    args.multi_dataset_batch_sampler = "round_robin";
    const data::DatasetDict datasets{{"shapes", shapes_dataset(64)}, {"more", shapes_dataset(64, 8)}};
    const RecordingClipLoss first{&model}, second{&model};
    SentenceTransformerTrainer trainer(
        model, args, datasets, std::map<std::string, RecordingClipLoss>{{"shapes", first}, {"more", second}},
        tiny_collator(), silent());
    trainer.train();
    // Round robin over two datasets of two batches each: three batches from each.
    CHECK(first.seen->size() == 3);
    CHECK(second.seen->size() == 3);
    CHECK(trainer.loss("more").seen == second.seen);

    auto error_of = [&](const std::map<std::string, RecordingClipLoss>& losses) {
        try {
            SentenceTransformerTrainer(model, args, datasets, losses, tiny_collator(), silent());
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of({{"shapes", first}}) ==
          "SentenceTransformerTrainer: no loss for dataset 'more'; a dict of losses needs one for each of "
          "'shapes', 'more'");
    CHECK(error_of({{"shapes", first}, {"more", second}, {"other", first}}) ==
          "SentenceTransformerTrainer: a loss is given for dataset 'other', but train_dataset has only "
          "'shapes', 'more'");
}

TEST_CASE("eval_dataset: its loss in eval mode is logged as eval_loss (eval_<name>_loss for a dict)") {
    testing::TempDir dir("trainer_eval_loss");
    auto model = tiny_clip();
    auto args = quiet_args(dir.path(), 4);
    args.eval_strategy = "steps";
    args.eval_steps = 4;
    args.per_device_eval_batch_size = 24;
    auto options = silent();
    const auto held_out = shapes_dataset(48, 30);
    options.eval_dataset = data::DatasetDict{{"", held_out}, {"named", shapes_dataset(16, 50)}};
    SentenceTransformerTrainer trainer(model, args, shapes_dataset(64),
                                       CLIPLoss<Cpu, float>(model.parameters()), tiny_collator(), options);
    trainer.train();
    const auto& entry = trainer.state().log_history.at(trainer.state().log_history.size() - 2);
    REQUIRE(entry.contains("eval_loss"));
    REQUIRE(entry.contains("eval_named_loss"));
    // By hand on the trained model: two batches of 24, averaged over the 48 rows.
    const CLIPLoss<Cpu, float> loss(model.parameters());
    double expected = 0;
    for (std::size_t begin : {0, 24}) {
        std::vector<std::size_t> rows;
        for (std::size_t r = begin; r < begin + 24; ++r) rows.push_back(r);
        const auto batch = data::Batch<Cpu>::from_host(tiny_collator().collate(held_out, rows, 0));
        NoGradGuard no_grad;
        Graph<Cpu, float> g;
        const std::vector<Var<Cpu, float>> columns = {encode_column(model, g, batch.inputs[0]),
                                                      encode_column(model, g, batch.inputs[1])};
        expected += double(loss(g, columns, {}).value().item()) * 24;
    }
    CHECK(entry.at("eval_loss").get<double>() == doctest::Approx(expected / 48).epsilon(1e-12));
}

TEST_CASE("resume: train_loss covers the steps before the checkpoint; early stopping keeps its count") {
    set_num_threads(1);
    testing::TempDir dir("trainer_resume_state");
    // Scripted evaluations every 2 steps: 0.9 at step 4 is the best, 0.7 at step 6 is one
    // evaluation without improvement, carried by checkpoint-6 into the resumed run.
    const std::vector<double> scripted = {0.5, 0.9, 0.7, 0.6, 0.95, 0.96};
    auto args_for = [&](std::int64_t steps) {
        auto a = quiet_args(dir.path(), steps);
        a.eval_strategy = "steps";
        a.eval_steps = 2;
        a.save_steps = 6;
        a.logging_steps = 1;
        a.metric_for_best_model = "recall";
        return a;
    };
    auto options_from = [&](std::size_t first_call) {
        auto calls = std::make_shared<std::size_t>(first_call);
        auto o = silent();
        o.evaluator = [&scripted, calls] { return Metrics{{"recall", scripted.at((*calls)++)}}; };
        o.callbacks.push_back(std::make_shared<EarlyStoppingCallback>(2));
        return o;
    };
    auto model = tiny_clip();
    SentenceTransformerTrainer first(model, args_for(6), shapes_dataset(64),
                                     CLIPLoss<Cpu, float>(model.parameters()), tiny_collator(),
                                     options_from(0));
    first.train();
    const auto saved = TrainerState::from_file(dir.path() / "checkpoint-6" / "trainer_state.json");
    CHECK(saved.stateful_callbacks.at("EarlyStoppingCallback")
              .at("attributes")
              .at("early_stopping_patience_counter") == 1);

    auto resumed = tiny_clip(99);
    SentenceTransformerTrainer again(resumed, args_for(20), shapes_dataset(64),
                                     CLIPLoss<Cpu, float>(resumed.parameters()), tiny_collator(),
                                     options_from(3));
    const auto out = again.train("latest");
    // 0.6 at step 8 is the second evaluation without improvement: stopped there, not at 10.
    CHECK(out.global_step == 8);
    // The mean of all 8 logged step losses, the 6 before the resume included.
    double sum = 0;
    int steps = 0;
    for (const auto& e : again.state().log_history)
        if (e.contains("loss")) {
            sum += e.at("loss").get<double>();
            ++steps;
        }
    CHECK(steps == 8);
    CHECK(out.training_loss == doctest::Approx(sum / 8).epsilon(1e-3));
    set_num_threads(2);
}

TEST_CASE(
    "training steps run in train mode: attention dropout changes the run, and the same seed repeats it") {
    auto run = [](double attention_dropout) {
        testing::TempDir dir("trainer_dropout");
        const auto plain = tiny_clip();
        auto config = plain.config();
        config.text_config.attention_dropout = config.vision_config.attention_dropout = attention_dropout;
        Model model(config);
        model.parameters().values().copy_from(plain.parameters().values());
        RecordingClipLoss loss{&model};
        SentenceTransformerTrainer trainer(model, quiet_args(dir.path(), 3), shapes_dataset(64), loss,
                                           tiny_collator(), silent());
        trainer.train();
        return *loss.seen;
    };
    const auto dropped = run(0.3);
    CHECK(dropped.size() == 3);
    CHECK(dropped == run(0.3));
    CHECK(dropped != run(0.0));
}

TEST_CASE("frozen patterns lock a tower (LiT): no gradient, no update, the other tower trains") {
    testing::TempDir dir("trainer_frozen");
    auto model = tiny_clip();
    const auto before = weights(model);
    auto options = silent();
    options.frozen = {"vision_model.*", "visual_projection.*"};
    RecordingClipLoss loss{&model};
    SentenceTransformerTrainer trainer(model, quiet_args(dir.path(), 3), shapes_dataset(64), loss,
                                       tiny_collator(), options);
    trainer.train();
    auto& store = model.parameters();
    const auto after = weights(model);
    std::size_t frozen = 0, moved = 0;
    model.for_each_parameter([&](const std::string& name, Parameter p) {
        const auto begin = before.begin() + store.offset(p), end = begin + store.shape(p).numel();
        const bool same = std::equal(begin, end, after.begin() + store.offset(p));
        if (name.starts_with("vision_model.") || name.starts_with("visual_projection.")) {
            ++frozen;
            INFO(name);
            CHECK(!store.requires_grad(p));
            CHECK(same);
            CHECK(store.grad(p).to_vector() == std::vector<float>(store.shape(p).numel(), 0.0f));
        } else {
            moved += !same;
        }
    });
    CHECK(frozen > 0);
    CHECK(moved > 0);
}

TEST_CASE(
    "prompts: a column's prompt trains as if the dataset held prompted texts; by dataset name needs names") {
    testing::TempDir dir("trainer_prompts");
    auto args = quiet_args(dir.path(), 3);
    auto losses_of = [&](const data::Dataset& data, const SentenceTransformerTrainingArguments& a) {
        auto model = tiny_clip();
        const RecordingClipLoss loss{&model};
        SentenceTransformerTrainer trainer(model, a, data, loss, tiny_collator(), silent());
        trainer.train();
        return *loss.seen;
    };
    const auto plain = shapes_dataset(64);
    std::vector<std::string> prompted;
    for (std::size_t i = 0; i < plain.size(); ++i)
        prompted.push_back("a " + std::get<std::string>(plain.cell(i, 0)));
    const data::Dataset by_hand({data::Column("caption", prompted), plain.column("image")});

    auto with_prompt = args;
    with_prompt.prompts = {{"caption", "a "}};
    const auto expected = losses_of(by_hand, args);
    CHECK(expected.size() == 3);
    CHECK(losses_of(plain, with_prompt) == expected);
    CHECK(losses_of(plain, args) != expected);

    auto nested = args;
    nested.prompts = {{"shapes", {{"caption", "a "}}}};
    auto model = tiny_clip();
    CHECK(
        testing::error_message([&] {
            SentenceTransformerTrainer(model, nested, plain, RecordingClipLoss{&model}, tiny_collator(),
                                       silent());
        }) ==
        "prompts: a dictionary of dataset names (shapes, ...) to column prompts needs a DatasetDict, found a "
        "dataset without a name");
}

// GISTEmbedLoss that records whether the guide's embeddings equal the student's.
struct RecordingGist {
    GISTEmbedLoss<Cpu, float> gist;
    std::shared_ptr<std::vector<bool>> guide_is_student = std::make_shared<std::vector<bool>>();

    std::string_view name() const { return gist.name(); }
    Var<Cpu, float> operator()(Graph<Cpu, float>& g, const std::vector<Var<Cpu, float>>& columns,
                               const std::vector<Tensor<Cpu, float>>& guides,
                               const LossLabels<Cpu, float>& labels) const {
        // The guide runs without a tape, so its float sums may round apart from the student's.
        bool same = guides.size() == columns.size();
        for (std::size_t c = 0; same && c < columns.size(); ++c) {
            const auto a = guides[c].to_vector(), b = columns[c].value().to_vector();
            same = a.size() == b.size();
            for (std::size_t i = 0; same && i < a.size(); ++i) same = std::abs(a[i] - b[i]) <= 1e-6f;
        }
        guide_is_student->push_back(same);
        return gist(g, columns, guides, labels);
    }
};

TEST_CASE("a guided loss: the trainer hands it a frozen guide's embeddings of each column") {
    testing::TempDir dir("trainer_guided");
    auto model = tiny_clip();
    auto guide = tiny_clip();  // the student's starting point, left as it is
    const auto guide_weights = weights(guide);
    const RecordingGist loss;
    auto options = silent();
    options.guide = guide_encoder(guide);
    SentenceTransformerTrainer trainer(model, quiet_args(dir.path(), 4), shapes_dataset(64), loss,
                                       tiny_collator(), options);
    trainer.train();
    // The student starts as the guide and stays so through the first step, whose learning rate is 0 (one
    // warm-up step); after a real update it differs, and the guide has not moved.
    CHECK(*loss.guide_is_student == std::vector<bool>{true, true, false, false});
    CHECK(weights(guide) == guide_weights);
    CHECK(weights(model) != guide_weights);

    // The cached form, in mini-batches of 8, takes the same steps to float rounding: AdamW scales
    // rounding in tiny gradients up, so the bound is a twentieth of one step (lr 2e-3).
    auto cached_model = tiny_clip();
    SentenceTransformerTrainer cached(cached_model, quiet_args(dir.path(), 4), shapes_dataset(64),
                                      CachedGISTEmbedLoss<Cpu, float>({}, 8), tiny_collator(), options);
    cached.train();
    const auto a = weights(model), b = weights(cached_model);
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(a[i] - b[i])));
    CHECK(diff < 1e-4);

    auto fresh = tiny_clip();
    CHECK(testing::error_message([&] {
              SentenceTransformerTrainer(fresh, quiet_args(dir.path(), 1), shapes_dataset(64),
                                         RecordingGist{}, tiny_collator(), silent());
          }) ==
          "SentenceTransformerTrainer: GISTEmbedLoss needs a guide model: set TrainerOptions::guide = "
          "guide_encoder(guide)");
}
