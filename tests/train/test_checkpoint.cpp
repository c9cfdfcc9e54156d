#include <tandem/train/arguments.hpp>
#include <tandem/train/checkpoint.hpp>

#include <doctest/doctest.h>

#include <fstream>

#include "temp_dir.hpp"

using namespace tandem;

TEST_CASE("training arguments: sentence-transformers' names and defaults, JSON both ways") {
    const auto a = SentenceTransformerTrainingArguments::from_json(nlohmann::json::parse(
        R"({"output_dir": "run", "per_device_train_batch_size": 64, "learning_rate": 2e-5,
                                  "warmup_ratio": 0.1, "lr_scheduler_type": "cosine", "save_total_limit": 2,
                                  "batch_sampler": "no_duplicates", "data_seed": null})"));
    CHECK(a.output_dir == "run");
    CHECK(a.per_device_train_batch_size == 64);
    CHECK(a.learning_rate == 2e-5);
    CHECK(a.lr_scheduler_type == "cosine");
    CHECK(a.save_total_limit == 2);
    CHECK(a.num_train_epochs == 3.0);
    CHECK(a.max_grad_norm == 1.0);
    CHECK(a.effective_data_seed() == 42);
    CHECK(a.effective_eval_steps() == 500);
    const auto again = SentenceTransformerTrainingArguments::from_json(a.to_json());
    CHECK(again.to_json() == a.to_json());
    CHECK(a.to_json().at("save_total_limit") == 2);
    CHECK(a.to_json().at("metric_for_best_model").is_null());
}

TEST_CASE("training arguments: learning_rate_mapping keeps the order of the file, first match wins") {
    testing::TempDir dir("arguments_order");
    // Written in the order opposite to the keys' sorted order.
    std::ofstream(dir.path() / "train.json")
        << R"({"learning_rate_mapping": {"_model\\.": 1e-4, "^text_model\\.": 1e-5, "bias$": 0.1}})";
    const auto a = SentenceTransformerTrainingArguments::from_file(dir.path() / "train.json");
    const SentenceTransformerTrainingArguments::LearningRateMapping expected = {
        {"_model\\.", 1e-4}, {"^text_model\\.", 1e-5}, {"bias$", 0.1}};
    CHECK(a.learning_rate_mapping == expected);
    CHECK(a.to_json().at("learning_rate_mapping").at("^text_model\\.") == 1e-5);
}

TEST_CASE("training arguments: an unknown key, a wrong type or a bad choice names the key") {
    auto error_of = [](const char* text) {
        try {
            SentenceTransformerTrainingArguments::from_json(nlohmann::json::parse(text), "train.json");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of(R"({"learning_rat": 1e-4})") ==
          "train.json: key 'learning_rat': unknown training argument (a misspelt name?)");
    CHECK(error_of(R"({"per_device_train_batch_size": 8.5})")
              .starts_with("train.json: key 'per_device_train_batch_size': "));
    CHECK(error_of(R"({"lr_scheduler_type": "cosine_annealing"})") ==
          "train.json: key 'lr_scheduler_type': expected one of constant, constant_with_warmup, linear, "
          "cosine, "
          "cosine_with_restarts, polynomial, inverse_sqrt, found \"cosine_annealing\"");
    CHECK(error_of(R"({"gradient_accumulation_steps": 0})") ==
          "train.json: key 'gradient_accumulation_steps': expected a positive integer, found 0");
    CHECK(error_of(R"({"warmup_ratio": 1.5})") ==
          "train.json: key 'warmup_ratio': expected a ratio in [0, 1], found 1.5");
}

TEST_CASE("checkpoints: written whole or not at all, rotated oldest first, the best one kept") {
    tandem::testing::TempDir dir("tandem_checkpoints");
    TrainerState state;
    auto write = [&](std::int64_t step) {
        state.global_step = step;
        state.log_history.push_back({{"loss", 1.0 / double(step)}, {"step", step}});
        return save_checkpoint(dir.path(), state, [&](const std::filesystem::path& folder) {
            std::ofstream(folder / "model.safetensors") << "weights " << step;
        });
    };
    write(10);
    write(20);
    // A failure while the files are written leaves nothing behind, and step 20 intact.
    state.global_step = 30;
    CHECK_THROWS_WITH_AS(save_checkpoint(dir.path(), state,
                                         [](const std::filesystem::path& folder) {
                                             std::ofstream(folder / "model.safetensors") << "half";
                                             detail::throw_error("disk full");
                                         }),
                         "disk full", Error);
    CHECK(list_checkpoints(dir.path()) ==
          std::vector<std::filesystem::path>{dir.path() / "checkpoint-10", dir.path() / "checkpoint-20"});
    CHECK_FALSE(std::filesystem::exists(dir.path() / ".checkpoint-30.tmp"));
    CHECK(resolve_checkpoint(dir.path(), "latest") == dir.path() / "checkpoint-20");
    const auto loaded = TrainerState::from_file(dir.path() / "checkpoint-20" / "trainer_state.json");
    CHECK(loaded.global_step == 20);
    CHECK(loaded.log_history.size() == 2);
    CHECK(loaded.to_json().at("log_history") == state.log_history);
    // An incomplete folder (no trainer_state.json) is never listed, resumed or pruned.
    std::filesystem::create_directories(dir.path() / "checkpoint-25");
    write(40);
    rotate_checkpoints(dir.path(), 2, dir.path() / "checkpoint-10");
    CHECK(list_checkpoints(dir.path()) ==
          std::vector<std::filesystem::path>{dir.path() / "checkpoint-10", dir.path() / "checkpoint-40"});
    CHECK(std::filesystem::exists(dir.path() / "checkpoint-25"));
    const std::string incomplete = "resume_from_checkpoint: " + (dir.path() / "checkpoint-25").string() +
                                   " is not a complete checkpoint (no trainer_state.json)";
    CHECK_THROWS_WITH_AS(resolve_checkpoint(dir.path(), (dir.path() / "checkpoint-25").string()),
                         incomplete.c_str(), Error);
}
