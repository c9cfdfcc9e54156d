// Checkpoint folders as transformers' Trainer lays them out (`output_dir/checkpoint-N/`
// with trainer_state.json beside the model's files), written so that a crash leaves
// the previous checkpoint whole: everything goes into a temporary sibling folder that
// is renamed into place only once complete; `save_total_limit` prunes complete
// checkpoints only, oldest first, never the best one.
// reference: transformers.Trainer._save_checkpoint, _rotate_checkpoints, TrainerState.
#pragma once

#include <tandem/core/detail/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tandem {

// What the trainer knows about its progress: trainer_state.json.
struct TrainerState {
    std::int64_t global_step = 0;
    double epoch = 0;
    std::int64_t max_steps = 0;
    std::int64_t logging_steps = 500;
    std::int64_t eval_steps = 500;
    std::int64_t save_steps = 500;
    std::int64_t train_batch_size = 8;
    double num_train_epochs = 3;
    std::optional<double> best_metric{};
    std::optional<std::string> best_model_checkpoint{};
    // The step whose evaluation gave best_metric.
    std::optional<std::int64_t> best_global_step{};
    // One object per logged step or evaluation ({"loss", "learning_rate", "epoch", "step"}).
    nlohmann::json log_history = nlohmann::json::array();
    // The state of callbacks that must survive a resume, by name (EarlyStoppingCallback).
    nlohmann::json stateful_callbacks = nlohmann::json::object();

    nlohmann::json to_json() const {
        return {{"best_metric", best_metric ? nlohmann::json(*best_metric) : nlohmann::json(nullptr)},
                {"best_model_checkpoint",
                 best_model_checkpoint ? nlohmann::json(*best_model_checkpoint) : nlohmann::json(nullptr)},
                {"best_global_step",
                 best_global_step ? nlohmann::json(*best_global_step) : nlohmann::json(nullptr)},
                {"epoch", epoch},
                {"eval_steps", eval_steps},
                {"global_step", global_step},
                {"is_hyper_param_search", false},
                {"is_local_process_zero", true},
                {"is_world_process_zero", true},
                {"log_history", log_history},
                {"logging_steps", logging_steps},
                {"max_steps", max_steps},
                {"num_input_tokens_seen", 0},
                {"num_train_epochs", num_train_epochs},
                {"save_steps", save_steps},
                {"stateful_callbacks", stateful_callbacks},
                {"total_flos", 0},
                {"train_batch_size", train_batch_size},
                {"trial_name", nullptr},
                {"trial_params", nullptr}};
    }

    static TrainerState from_file(const std::filesystem::path& path) {
        const auto j = detail::read_json_file(path);
        const detail::JsonObjectReader r(j, path.string());
        TrainerState s;
        s.global_step = r.require<std::int64_t>("global_step");
        s.epoch = r.get<double>("epoch", s.epoch);
        s.max_steps = r.get<std::int64_t>("max_steps", s.max_steps);
        s.logging_steps = r.get<std::int64_t>("logging_steps", s.logging_steps);
        s.eval_steps = r.get<std::int64_t>("eval_steps", s.eval_steps);
        s.save_steps = r.get<std::int64_t>("save_steps", s.save_steps);
        s.train_batch_size = r.get<std::int64_t>("train_batch_size", s.train_batch_size);
        s.num_train_epochs = r.get<double>("num_train_epochs", s.num_train_epochs);
        s.best_metric = r.get_optional<double>("best_metric");
        s.best_model_checkpoint = r.get_optional<std::string>("best_model_checkpoint");
        s.best_global_step = r.get_optional<std::int64_t>("best_global_step");
        if (r.contains("stateful_callbacks")) s.stateful_callbacks = r.object("stateful_callbacks").json();
        if (r.contains("log_history")) {
            s.log_history = j.at("log_history");
            if (!s.log_history.is_array()) r.path("log_history").fail("expected an array");
        }
        if (s.global_step < 0)
            r.path("global_step").fail("expected a non-negative step, found ", s.global_step);
        return s;
    }
};

namespace detail {
// N of a folder named checkpoint-N, or nullopt.
inline std::optional<std::int64_t> checkpoint_step(const std::filesystem::path& folder) {
    const std::string name = folder.filename().string();
    constexpr std::string_view prefix = "checkpoint-";
    if (!name.starts_with(prefix) || name.size() == prefix.size()) return std::nullopt;
    std::int64_t step = 0;
    for (char c : name.substr(prefix.size())) {
        if (c < '0' || c > '9' || step > (INT64_MAX - 9) / 10) return std::nullopt;
        step = step * 10 + (c - '0');
    }
    return step;
}
}  // namespace detail

// The complete checkpoints under `output_dir` (folders checkpoint-N holding
// trainer_state.json), by increasing N.
inline std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& output_dir) {
    std::vector<std::pair<std::int64_t, std::filesystem::path>> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(output_dir, ec)) {
        if (!entry.is_directory()) continue;
        const auto step = detail::checkpoint_step(entry.path());
        if (step && std::filesystem::exists(entry.path() / "trainer_state.json"))
            found.emplace_back(*step, entry.path());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::filesystem::path> out;
    for (auto& [step, path] : found) out.push_back(path);
    return out;
}

// `resume_from_checkpoint`: a checkpoint folder, or "latest" for the newest complete one.
inline std::filesystem::path resolve_checkpoint(const std::filesystem::path& output_dir,
                                                const std::string& which) {
    if (which == "latest") {
        const auto all = list_checkpoints(output_dir);
        if (all.empty())
            detail::throw_error("resume_from_checkpoint \"latest\": no complete checkpoint-N folder in ",
                                output_dir.string());
        return all.back();
    }
    const std::filesystem::path folder(which);
    if (!std::filesystem::exists(folder / "trainer_state.json"))
        detail::throw_error("resume_from_checkpoint: ", folder.string(),
                            " is not a complete checkpoint (no trainer_state.json)");
    return folder;
}

// Writes output_dir/checkpoint-<state.global_step>: `write_files(folder)` saves the
// model, optimizer and data position into the folder, then trainer_state.json is
// written last and the folder renamed into place. An exception leaves no partial
// checkpoint behind and the earlier ones untouched.
inline std::filesystem::path save_checkpoint(
    const std::filesystem::path& output_dir, const TrainerState& state,
    const std::function<void(const std::filesystem::path&)>& write_files) {
    namespace fs = std::filesystem;
    fs::create_directories(output_dir);
    const fs::path final_dir = output_dir / ("checkpoint-" + std::to_string(state.global_step));
    const fs::path staging = output_dir / (".checkpoint-" + std::to_string(state.global_step) + ".tmp");
    fs::remove_all(staging);
    fs::create_directories(staging);
    try {
        write_files(staging);
        detail::write_json_file(staging / "trainer_state.json", state.to_json());
    } catch (...) {
        std::error_code ec;
        fs::remove_all(staging, ec);
        throw;
    }
    // A checkpoint of the same step (a re-run) is replaced only now, when the new one is whole.
    std::error_code ec;
    fs::remove_all(final_dir, ec);
    fs::rename(staging, final_dir);
    return final_dir;
}

// Deletes the oldest complete checkpoints beyond `limit`, keeping `keep` (the best one).
inline void rotate_checkpoints(const std::filesystem::path& output_dir, std::int64_t limit,
                               const std::optional<std::filesystem::path>& keep = std::nullopt) {
    auto all = list_checkpoints(output_dir);
    std::int64_t excess = static_cast<std::int64_t>(all.size()) - limit;
    for (const auto& folder : all) {
        if (excess <= 0) break;
        if (keep && std::filesystem::equivalent(folder, *keep)) continue;
        std::filesystem::remove_all(folder);
        --excess;
    }
}

}  // namespace tandem
