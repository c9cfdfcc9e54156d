// SentenceTransformerTrainingArguments: what a training run does, under the names
// sentence-transformers (and the transformers TrainingArguments it extends) uses, with
// their defaults, read from and written to JSON. An unknown key is an error naming it,
// so a typo in train.json never silently falls back to a default.
// reference: sentence_transformers.training_args.SentenceTransformerTrainingArguments (v6),
// transformers.TrainingArguments.
#pragma once

#include <tandem/core/detail/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem {

struct SentenceTransformerTrainingArguments {
    std::string output_dir = "output";
    double num_train_epochs = 3.0;
    // > 0 overrides num_train_epochs.
    std::int64_t max_steps = -1;
    std::int64_t per_device_train_batch_size = 8;
    std::int64_t per_device_eval_batch_size = 8;
    double learning_rate = 5e-5;
    std::string lr_scheduler_type = "linear";
    double warmup_ratio = 0.0;
    std::int64_t warmup_steps = 0;
    double weight_decay = 0.0;
    double adam_beta1 = 0.9;
    double adam_beta2 = 0.999;
    double adam_epsilon = 1e-8;
    double max_grad_norm = 1.0;
    std::int64_t gradient_accumulation_steps = 1;
    std::int64_t seed = 42;
    // Seeds the data order apart from initialisation; `seed` when unset.
    std::optional<std::int64_t> data_seed{};
    std::string eval_strategy = "no";
    // Defaults to logging_steps, as transformers does.
    std::optional<std::int64_t> eval_steps{};
    std::string save_strategy = "steps";
    std::int64_t save_steps = 500;
    std::optional<std::int64_t> save_total_limit{};
    bool load_best_model_at_end = false;
    std::optional<std::string> metric_for_best_model{};
    std::optional<bool> greater_is_better{};
    std::int64_t logging_steps = 500;
    std::string batch_sampler = "batch_sampler";
    std::string multi_dataset_batch_sampler = "proportional";
    std::int64_t dataloader_num_workers = 0;
    bool dataloader_drop_last = false;
    // A prompt for every column, or per dataset and column, as sentence-transformers takes them.
    nlohmann::json prompts = nullptr;
    // Regular expression over parameter names -> learning rate (sentence-transformers v6).
    // A parameter takes the first pattern that matches it, in the order given.
    using LearningRateMapping = std::vector<std::pair<std::string, double>>;
    LearningRateMapping learning_rate_mapping{};
    // A checkpoint folder or "latest", for train() called without one.
    std::optional<std::string> resume_from_checkpoint{};

    static constexpr std::array<std::string_view, 7> scheduler_types = {
        "constant",   "constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
        "polynomial", "inverse_sqrt"};
    static constexpr std::array<std::string_view, 3> strategies = {"no", "steps", "epoch"};
    static constexpr std::array<std::string_view, 4> batch_samplers = {
        "batch_sampler", "no_duplicates", "no_duplicates_hashed", "group_by_label"};
    static constexpr std::array<std::string_view, 2> multi_dataset_batch_samplers = {"round_robin",
                                                                                     "proportional"};

    std::int64_t effective_data_seed() const { return data_seed.value_or(seed); }
    std::int64_t effective_eval_steps() const { return eval_steps.value_or(logging_steps); }

    template <class Self, class F>
    static void visit_fields(Self& a, F&& f) {
        f("output_dir", a.output_dir);
        f("num_train_epochs", a.num_train_epochs);
        f("max_steps", a.max_steps);
        f("per_device_train_batch_size", a.per_device_train_batch_size);
        f("per_device_eval_batch_size", a.per_device_eval_batch_size);
        f("learning_rate", a.learning_rate);
        f("lr_scheduler_type", a.lr_scheduler_type);
        f("warmup_ratio", a.warmup_ratio);
        f("warmup_steps", a.warmup_steps);
        f("weight_decay", a.weight_decay);
        f("adam_beta1", a.adam_beta1);
        f("adam_beta2", a.adam_beta2);
        f("adam_epsilon", a.adam_epsilon);
        f("max_grad_norm", a.max_grad_norm);
        f("gradient_accumulation_steps", a.gradient_accumulation_steps);
        f("seed", a.seed);
        f("data_seed", a.data_seed);
        f("eval_strategy", a.eval_strategy);
        f("eval_steps", a.eval_steps);
        f("save_strategy", a.save_strategy);
        f("save_steps", a.save_steps);
        f("save_total_limit", a.save_total_limit);
        f("load_best_model_at_end", a.load_best_model_at_end);
        f("metric_for_best_model", a.metric_for_best_model);
        f("greater_is_better", a.greater_is_better);
        f("logging_steps", a.logging_steps);
        f("batch_sampler", a.batch_sampler);
        f("multi_dataset_batch_sampler", a.multi_dataset_batch_sampler);
        f("dataloader_num_workers", a.dataloader_num_workers);
        f("dataloader_drop_last", a.dataloader_drop_last);
        f("prompts", a.prompts);
        f("learning_rate_mapping", a.learning_rate_mapping);
        f("resume_from_checkpoint", a.resume_from_checkpoint);
    }

    // `file` names the source in errors ("train.json", or "train.json: key 'args'").
    static SentenceTransformerTrainingArguments from_json(const nlohmann::json& j,
                                                          const std::string& file = "training arguments") {
        const detail::JsonObjectReader r(j, file);
        SentenceTransformerTrainingArguments a;
        std::vector<std::string> known;
        visit_fields(a, [&](std::string_view key, auto& field) {
            known.emplace_back(key);
            read_field(r, key, field);
        });
        for (const auto& [key, value] : j.items())
            if (std::find(known.begin(), known.end(), key) == known.end())
                r.path(key).fail("unknown training argument (a misspelt name?)");
        a.validate(r);
        return a;
    }

    // A JSON value keeps an object's keys sorted, so from_json reads learning_rate_mapping
    // in key order; from a file the patterns keep the order they are written in.
    static SentenceTransformerTrainingArguments from_file(const std::filesystem::path& path) {
        auto a = from_json(detail::read_json_file(path), path.string());
        if (a.learning_rate_mapping.size() > 1) {
            std::ifstream in(path);
            const auto ordered = nlohmann::ordered_json::parse(in);
            LearningRateMapping mapping;
            for (const auto& [pattern, lr] : ordered.at("learning_rate_mapping").items())
                mapping.emplace_back(pattern, lr.get<double>());
            a.learning_rate_mapping = std::move(mapping);
        }
        return a;
    }

    nlohmann::json to_json() const {
        nlohmann::json j = nlohmann::json::object();
        visit_fields(*this,
                     [&](std::string_view key, const auto& field) { j[std::string(key)] = to_value(field); });
        return j;
    }

private:
    template <class T>
    static void read_field(const detail::JsonObjectReader& r, std::string_view key, T& field) {
        if constexpr (std::same_as<T, nlohmann::json>) {
            if (r.contains(key)) field = r.json().at(std::string(key));
        } else if constexpr (std::same_as<T, LearningRateMapping>) {
            if (!r.contains(key)) return;
            const auto inner = r.object(key);
            field.clear();
            for (const auto& [pattern, value] : inner.json().items())
                field.emplace_back(pattern, detail::json_as<double>(value, inner.path(pattern)));
        } else if constexpr (requires { typename T::value_type; } && !std::same_as<T, std::string>) {
            field = r.get_optional<typename T::value_type>(key, field);
        } else {
            field = r.get<T>(key, field);
        }
    }

    template <class T>
    static nlohmann::json to_value(const T& field) {
        if constexpr (std::same_as<T, LearningRateMapping>) {
            nlohmann::json j = nlohmann::json::object();
            for (const auto& [pattern, lr] : field) j[pattern] = lr;
            return j;
        } else if constexpr (requires { typename T::value_type; } && !std::same_as<T, std::string> &&
                             !std::same_as<T, nlohmann::json>) {
            return field ? nlohmann::json(*field) : nlohmann::json(nullptr);
        } else {
            return nlohmann::json(field);
        }
    }

    template <std::size_t N>
    static void check_choice(const detail::JsonObjectReader& r, std::string_view key,
                             const std::string& value, const std::array<std::string_view, N>& choices) {
        if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
        std::string list;
        for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
        r.path(key).fail("expected one of ", list, ", found \"", value, "\"");
    }

    void validate(const detail::JsonObjectReader& r) const {
        check_choice(r, "lr_scheduler_type", lr_scheduler_type, scheduler_types);
        check_choice(r, "eval_strategy", eval_strategy, strategies);
        check_choice(r, "save_strategy", save_strategy, strategies);
        check_choice(r, "batch_sampler", batch_sampler, batch_samplers);
        check_choice(r, "multi_dataset_batch_sampler", multi_dataset_batch_sampler,
                     multi_dataset_batch_samplers);
        auto positive = [&](std::string_view key, std::int64_t v) {
            if (v <= 0) r.path(key).fail("expected a positive integer, found ", v);
        };
        positive("per_device_train_batch_size", per_device_train_batch_size);
        positive("per_device_eval_batch_size", per_device_eval_batch_size);
        positive("gradient_accumulation_steps", gradient_accumulation_steps);
        positive("logging_steps", logging_steps);
        positive("save_steps", save_steps);
        if (eval_steps) positive("eval_steps", *eval_steps);
        if (save_total_limit) positive("save_total_limit", *save_total_limit);
        if (max_steps <= 0 && !(num_train_epochs > 0))
            r.path("num_train_epochs")
                .fail("expected a positive number of epochs (or max_steps > 0), found ", num_train_epochs);
        if (warmup_ratio < 0 || warmup_ratio > 1)
            r.path("warmup_ratio").fail("expected a ratio in [0, 1], found ", warmup_ratio);
        if (warmup_steps < 0)
            r.path("warmup_steps").fail("expected a non-negative integer, found ", warmup_steps);
        if (!(learning_rate >= 0))
            r.path("learning_rate").fail("expected a non-negative number, found ", learning_rate);
        if (dataloader_num_workers < 0)
            r.path("dataloader_num_workers")
                .fail("expected a non-negative integer, found ", dataloader_num_workers);
        if (load_best_model_at_end && !metric_for_best_model && eval_strategy == "no")
            r.path("load_best_model_at_end")
                .fail("needs evaluation: set eval_strategy (and metric_for_best_model)");
    }
};

}  // namespace tandem
