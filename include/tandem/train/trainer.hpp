// SentenceTransformerTrainer: the training loop of sentence-transformers (on transformers'
// Trainer) for a model and a loss composed at compile time. Per optimizer step:
// gradient_accumulation_steps batches, each encoded column by column and given to the
// loss (or, for a cached loss, handed the encoder), backward; then global-norm clipping,
// the learning rate of the schedule, AdamW (biases, norms and the logit temperature
// without weight decay, learning_rate_mapping), logging, evaluation and checkpoints.
// Distributed (TrainerOptions::distributed), every rank runs this loop on its shard of
// each global batch, gradients averaged over ranks before clipping.
// Everything a step does is a function of (seed, step), so a run resumed from a checkpoint
// ends with the same bits as one that never stopped.
// reference: sentence_transformers.trainer.SentenceTransformerTrainer (v6),
// transformers.Trainer (_inner_training_loop, _save_checkpoint, _load_from_checkpoint).
#pragma once

#include <tandem/core/thread.hpp>
#include <tandem/data/loader.hpp>
#include <tandem/data/samplers.hpp>
#include <tandem/dist/communicator.hpp>
#include <tandem/dist/gathered_loss.hpp>
#include <tandem/dist/parameters.hpp>
#include <tandem/dist/sampler.hpp>
#include <tandem/io/safetensors.hpp>
#include <tandem/losses/concepts.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/optim/adamw.hpp>
#include <tandem/optim/clip_grad.hpp>
#include <tandem/optim/param_groups.hpp>
#include <tandem/optim/schedule.hpp>
#include <tandem/train/arguments.hpp>
#include <tandem/train/callbacks.hpp>
#include <tandem/train/checkpoint.hpp>
#include <tandem/train/model_encoder.hpp>
#include <tandem/train/progress.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// What the trainer takes beside the model, the arguments, the data and the loss.
template <class Model>
struct TrainerOptions {
    // Evaluation run every eval_steps (or each epoch): metrics by name; "eval_" is
    // prepended where missing, as in log_history.
    std::function<Metrics()> evaluator{};
    // Its loss is evaluated with the evaluator, in eval mode: "eval_loss", or
    // "eval_<name>_loss" for each dataset of a dict with named datasets.
    std::optional<data::DatasetDict> eval_dataset{};
    std::vector<std::shared_ptr<TrainerCallback>> callbacks{};
    // Shell globs over parameter names whose parameters are not trained (LiT: "vision_model.*").
    std::vector<std::string> frozen{};
    // Progress and log lines; null for none. `progress_bar` unset: a bar when stderr is a terminal.
    std::ostream* log_stream = &std::cerr;
    std::optional<bool> progress_bar{};
    // The guide's embeddings of a batch column, for a guided loss (GISTEmbedLoss); see guide_encoder.
    using GuideEncoder = std::function<Tensor<typename Model::backend_type, typename Model::value_type>(
        const typename data::Batch<typename Model::backend_type>::Input&)>;
    GuideEncoder guide{};
    // Data parallel across processes (an MpiCommunicator of dist/mpi.hpp), or null for one
    // process. Each step takes one global batch of per_device_train_batch_size x world size
    // rows, each rank its contiguous share; every rank starts from rank 0's weights and
    // steps with the gradient averaged over ranks; a loss with rows_loss
    // (MultipleNegativesRankingLoss, CLIPLoss, SigLIPLoss) scores each rank's rows against
    // the whole global batch, so training matches one process on the global batches. Logs,
    // evaluation and checkpoints happen on rank 0. Must outlive the trainer.
    dist::Communicator* distributed = nullptr;
};

// A guide model as a guided loss sees it: embeddings in eval mode without gradients, so
// the guide stays frozen whatever the trainer does (sentence-transformers runs its guide
// under torch.no_grad). The guide is held by reference and must outlive the trainer.
template <EmbeddingModel Guide>
auto guide_encoder(const Guide& guide) {
    using B = typename Guide::backend_type;
    using T = typename Guide::value_type;
    return [&guide](const typename data::Batch<B>::Input& in) -> Tensor<B, T> {
        NoGradGuard no_grad;
        Graph<B, T> g;
        return encode_column(guide, g, in).value();
    };
}

struct TrainOutput {
    std::int64_t global_step = 0;
    double training_loss = 0;
    Metrics metrics{};
};

namespace detail {

enum class TrainerFault { none, not_module, no_parameters, no_save, no_encoder, not_loss, no_layers };

template <class Model, class L>
consteval TrainerFault trainer_fault() {
    if constexpr (!Module<Model>)
        return TrainerFault::not_module;
    else if constexpr (!requires(const Model& m) {
                           {
                               m.parameters()
                               } -> std::same_as<
                                   ParameterStore<typename Model::backend_type, typename Model::value_type>&>;
                       })
        return TrainerFault::no_parameters;
    else if constexpr (!requires(const Model& m, const std::filesystem::path& p) { m.save_pretrained(p); })
        return TrainerFault::no_save;
    else if constexpr (!EmbeddingModel<Model>)
        return TrainerFault::no_encoder;
    else if constexpr (!Loss<L, typename Model::backend_type, typename Model::value_type> &&
                       !GuidedLoss<L, typename Model::backend_type, typename Model::value_type> &&
                       !CachedGuidedLoss<L, typename Model::backend_type, typename Model::value_type> &&
                       !LayerwiseLoss<L, typename Model::backend_type, typename Model::value_type>)
        return TrainerFault::not_loss;
    else if constexpr (LayerwiseLoss<L, typename Model::backend_type, typename Model::value_type> &&
                       !LayerwiseEncoderModel<Model>)
        return TrainerFault::no_layers;
    else
        return TrainerFault::none;
}

// The sampler's batches with the first `skip` of epoch `epoch` left out: where a resumed
// run picks up. A batch is collated from its rows and epoch alone, so the batches that
// follow are the ones the interrupted run would have seen.
class ResumedBatchSampler {
public:
    ResumedBatchSampler(data::AnyBatchSampler inner, std::uint64_t epoch, std::size_t skip)
        : inner_(std::move(inner)), skip_epoch_(epoch), skip_(skip) {}
    void set_epoch(std::uint64_t epoch) {
        epoch_ = epoch;
        inner_.set_epoch(epoch);
    }
    data::Batches batches() const {
        auto all = inner_.batches();
        if (epoch_ == skip_epoch_)
            all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(skip_, all.size())));
        return all;
    }
    std::size_t size() const { return inner_.size(); }

private:
    data::AnyBatchSampler inner_;
    std::uint64_t epoch_ = 0, skip_epoch_;
    std::size_t skip_;
};

// A 64-bit seed for the graph of micro-batch `micro` of the run, from the run's seed
// (SplitMix64's finaliser over both), so dropout differs per step and repeats per seed.
inline std::uint64_t step_seed(std::uint64_t seed, std::uint64_t micro) {
    std::uint64_t z = seed ^ (0x9E3779B97F4A7C15ull * (micro + 1));
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline double round_to(double v, int digits) {
    const double p = std::pow(10.0, digits);
    return std::round(v * p) / p;
}

}  // namespace detail

template <class Model, class L>
class SentenceTransformerTrainer {
    static constexpr auto fault = detail::trainer_fault<Model, L>();
    static_assert(fault != detail::TrainerFault::not_module,
                  "SentenceTransformerTrainer: the model must be a Module (backend_type, value_type and "
                  "for_each_parameter yielding Hugging Face names)");
    static_assert(
        fault != detail::TrainerFault::no_parameters,
        "SentenceTransformerTrainer: the model must provide parameters() returning its ParameterStore");
    static_assert(fault != detail::TrainerFault::no_save,
                  "SentenceTransformerTrainer: the model must provide save_pretrained(dir) for checkpoints");
    static_assert(
        fault != detail::TrainerFault::no_encoder,
        "SentenceTransformerTrainer: the model must provide encode_text(Graph&, const TextBatch<B>&) "
        "and/or encode_image(Graph&, const Var<B, T>&) returning embeddings [batch, dim]");
    static_assert(
        fault != detail::TrainerFault::not_loss,
        "SentenceTransformerTrainer: the loss must be callable as loss(Graph<B, T>&, columns, "
        "LossLabels<B, T>) -> Var<B, T>, or be a cached loss with forward_backward(ColumnEncoder, "
        "columns, rows, LossLabels, GraphOptions) -> Tensor<B, T>, or a guided loss taking the "
        "guide's embeddings after the columns, or a layerwise loss taking every layer's embeddings");
    static_assert(
        fault != detail::TrainerFault::no_layers,
        "SentenceTransformerTrainer: a layerwise loss (AdaptiveLayerLoss, Matryoshka2dLoss) needs a "
        "model with encode_text_layers or encode_image_layers, such as a SentenceTransformerStack "
        "with Pooling after a tower that gives its hidden states");

    using B = typename Model::backend_type;
    using T = typename Model::value_type;
    using Args = SentenceTransformerTrainingArguments;
    using Loader = data::DataLoader<B, detail::ResumedBatchSampler>;

public:
    // One loss for every dataset.
    SentenceTransformerTrainer(Model& model, Args args, data::DatasetDict train_dataset, L loss,
                               data::Collator collator, TrainerOptions<Model> options = {})
        : SentenceTransformerTrainer(model, std::move(args), std::move(train_dataset),
                                     one_loss(std::move(loss)), std::move(collator), std::move(options), 0) {}
    SentenceTransformerTrainer(Model& model, Args args, data::Dataset train_dataset, L loss,
                               data::Collator collator, TrainerOptions<Model> options = {})
        : SentenceTransformerTrainer(model, std::move(args),
                                     data::DatasetDict{{"", std::move(train_dataset)}}, std::move(loss),
                                     std::move(collator), std::move(options)) {}
    // A loss per dataset, by the dataset's name, as sentence-transformers takes a dict of losses.
    SentenceTransformerTrainer(Model& model, Args args, data::DatasetDict train_dataset,
                               std::map<std::string, L> losses, data::Collator collator,
                               TrainerOptions<Model> options = {})
        : SentenceTransformerTrainer(model, std::move(args), train_dataset,
                                     losses_by_dataset(train_dataset, std::move(losses)), std::move(collator),
                                     std::move(options), 0) {}

    const Args& args() const { return args_; }
    const TrainerState& state() const { return state_; }
    // The loss of the first dataset (the only one, unless a loss was given per dataset).
    L& loss() { return losses_[0]; }
    L& loss(const std::string& dataset) { return losses_[loss_index(dataset)]; }
    // Batches per epoch and optimizer steps per epoch (the last may take fewer batches).
    std::size_t batches_per_epoch() const { return sampler_->size(); }
    std::int64_t steps_per_epoch() const {
        const auto ga = static_cast<std::size_t>(args_.gradient_accumulation_steps);
        return static_cast<std::int64_t>(std::max<std::size_t>(1, (batches_per_epoch() + ga - 1) / ga));
    }
    // max_steps, or ceil(num_train_epochs * steps_per_epoch) as transformers counts it.
    std::int64_t total_steps() const {
        if (args_.max_steps > 0) return args_.max_steps;
        return static_cast<std::int64_t>(std::ceil(args_.num_train_epochs * double(steps_per_epoch())));
    }

private:
    SentenceTransformerTrainer(Model& model, Args args, data::DatasetDict train_dataset,
                               std::vector<L> losses, data::Collator collator, TrainerOptions<Model> options,
                               int)
        : model_(model),
          args_(std::move(args)),
          train_(std::move(train_dataset)),
          losses_(std::move(losses)),
          collator_(std::move(collator)),
          options_(std::move(options)) {
        if (train_.size() == 0)
            detail::throw_error(
                "SentenceTransformerTrainer: train_dataset is an empty DatasetDict, expected at "
                "least one dataset");
        for (std::size_t i = 0; i < train_.size(); ++i)
            if (train_[i].empty())
                detail::throw_error("SentenceTransformerTrainer: train_dataset",
                                    train_.names()[i].empty() ? "" : " '" + train_.names()[i] + "'",
                                    " is empty, expected at least one row");
        if (args_.load_best_model_at_end && !options_.evaluator)
            detail::throw_error("SentenceTransformerTrainer: load_best_model_at_end needs an evaluator");
        if (args_.eval_strategy != "no" && !options_.evaluator && !options_.eval_dataset)
            detail::throw_error("SentenceTransformerTrainer: eval_strategy is \"", args_.eval_strategy,
                                "\" but neither an evaluator nor an eval_dataset was given");
        if (!args_.prompts.is_null()) {
            collator_.set_prompts(args_.prompts);
            // Resolving once per dataset fails now, not at the first batch, when a mapping by
            // dataset name meets a dataset without one.
            for (const auto& name : train_.names()) collator_.prompt_for(name, "");
        }
        if constexpr (GuidedLoss<L, B, T> || CachedGuidedLoss<L, B, T>)
            if (!options_.guide)
                detail::throw_error("SentenceTransformerTrainer: ", loss_name(losses_[0]),
                                    " needs a guide model: set TrainerOptions::guide = guide_encoder(guide)");
        check_columns(train_, "train_dataset");
        if (options_.eval_dataset) {
            if constexpr (!EmbeddingLoss<L, B, T> && !LayerwiseLoss<L, B, T>)
                detail::throw_error("SentenceTransformerTrainer: eval_dataset needs a loss over embeddings; ",
                                    loss_name(losses_[0]), " only trains through its own encoder");
            check_columns(*options_.eval_dataset, "eval_dataset");
        }
        sampler_ = make_sampler();
        add_trainable(model_.parameters(), "");
        for (std::size_t i = 0; i < losses_.size(); ++i) {
            auto* own = own_parameters(losses_[i]);
            if (own && own != &model_.parameters())
                add_trainable(*own, losses_.size() == 1 ? "loss." : "loss." + train_.names()[i] + ".");
        }
    }

    // The parameters a loss trains beside the model's, or null: a loss type with
    // parameters() has them; a type-erased loss says at run time.
    static ParameterStore<B, T>* own_parameters(const L& loss) {
        if constexpr (requires {
                          { loss.own_parameters() } -> std::same_as<ParameterStore<B, T>*>;
                      })
            return loss.own_parameters();
        else if constexpr (requires(L & l) { l.parameters(); })
            return &loss.parameters();
        else
            return nullptr;
    }

public:
    // Trains to the end; `resume_from_checkpoint` (a checkpoint folder or "latest", else
    // args.resume_from_checkpoint) continues from a checkpoint's weights, optimizer,
    // schedule and data position.
    TrainOutput train(std::optional<std::string> resume_from_checkpoint = std::nullopt) {
        if (!resume_from_checkpoint) resume_from_checkpoint = args_.resume_from_checkpoint;
        const std::int64_t max_steps = total_steps();
        const std::int64_t warmup =
            get_warmup_steps(max_steps, double(args_.warmup_steps), args_.warmup_ratio);
        schedule_ = get_scheduler(args_.lr_scheduler_type, warmup, max_steps,
                                  LRSchedule{.lr_init = args_.learning_rate});
        state_ = TrainerState{};
        state_.max_steps = max_steps;
        state_.logging_steps = args_.logging_steps;
        state_.eval_steps = args_.effective_eval_steps();
        state_.save_steps = args_.save_steps;
        state_.train_batch_size = args_.per_device_train_batch_size;
        state_.num_train_epochs = double((max_steps + steps_per_epoch() - 1) / steps_per_epoch());
        position_ = {};
        loss_total_ = 0;
        epoch_started_ = false;
        if (resume_from_checkpoint)
            load_checkpoint(resolve_checkpoint(args_.output_dir, *resume_from_checkpoint));
        // Every replica starts from rank 0's weights (its initialisation, or the checkpoint
        // every rank loaded).
        broadcast_weights();
        if (main_process()) {
            std::filesystem::create_directories(args_.output_dir);
            rewrite_jsonl();
        }

        const bool bar = options_.progress_bar.value_or(options_.log_stream == &std::cerr &&
                                                        ProgressReporter::stderr_is_terminal());
        ProgressReporter progress(main_process() ? options_.log_stream : nullptr, bar && main_process());
        TrainerControl control;
        for (auto& c : options_.callbacks) c->on_train_begin(args_, state_, control);

        const auto started = std::chrono::steady_clock::now();
        const std::int64_t first_step = state_.global_step;
        std::int64_t samples = 0;
        double loss_since_log = 0;
        std::int64_t steps_since_log = 0;
        std::optional<T> grad_norm;

        loader_ = std::make_unique<Loader>(
            train_, detail::ResumedBatchSampler(*sampler_, position_.epoch, position_.batches_in_epoch),
            collator_,
            data::LoaderOptions{.num_workers = static_cast<std::size_t>(
                                    std::max<std::int64_t>(1, args_.dataloader_num_workers)),
                                .prefetch = args_.dataloader_num_workers > 0 ? 2u : 0u});
        while (state_.global_step < max_steps && !control.should_training_stop) {
            if (!epoch_started_) start_epoch(control);
            // One optimizer step: up to gradient_accumulation_steps batches of this epoch.
            for (auto& t : trainables_) t.store->zero_grad();
            double step_loss = 0;
            std::int64_t micro = 0;
            while (micro < args_.gradient_accumulation_steps) {
                auto batch = loader_->next();
                if (!batch) break;
                const double value = run_batch(*batch, micro);
                step_loss += value;
                samples += static_cast<std::int64_t>(batch->size() * world_size());
                ++micro;
                ++position_.batches_in_epoch;
            }
            if (micro == 0) {
                end_epoch(control);
                continue;
            }
            if (options_.distributed)
                for (auto& t : trainables_) dist::all_reduce_gradients(*options_.distributed, *t.store);
            if (micro > 1)
                for (auto& t : trainables_) {
                    auto grads = t.store->grads();
                    B::scale(grads.data(), grads.data(), T(1) / T(micro), grads.numel(), false);
                }
            if (args_.max_grad_norm > 0) grad_norm = clip_gradients(T(args_.max_grad_norm));
            const double lr = args_.learning_rate * schedule_.factor(state_.global_step);
            for (auto& t : trainables_) {
                if (args_.learning_rate > 0) t.optimizer->set_lr(T(lr));
                t.optimizer->step();
            }
            if constexpr (requires(L & l) { l.clamp_logit_scale(); })
                for (auto& l : losses_) l.clamp_logit_scale();
            ++state_.global_step;
            step_loss /= double(micro);
            loss_since_log += step_loss;
            loss_total_ += step_loss;
            ++steps_since_log;
            state_.epoch = epoch_progress();

            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            const double steps_done = double(state_.global_step - first_step);
            ProgressInfo info{
                state_.global_step,
                max_steps,
                state_.epoch,
                step_loss,
                args_.learning_rate * schedule_.factor(state_.global_step),
                elapsed > 0 ? double(samples) / elapsed : 0,
                steps_done > 0 ? elapsed / steps_done * double(max_steps - state_.global_step) : 0};
            progress.step(info);
            for (auto& c : options_.callbacks) c->on_step_end(args_, state_, control);

            if (state_.global_step % args_.logging_steps == 0) {
                info.loss = loss_since_log / double(steps_since_log);
                nlohmann::json entry = {{"epoch", state_.epoch},
                                        {"learning_rate", info.learning_rate},
                                        {"loss", detail::round_to(info.loss, 4)},
                                        {"step", state_.global_step}};
                if (grad_norm) entry["grad_norm"] = double(*grad_norm);
                log(entry, control);
                progress.log(info);
                loss_since_log = 0;
                steps_since_log = 0;
            }
            const bool epoch_done = position_.batches_in_epoch >= position_.batches_planned;
            if (args_.eval_strategy == "steps" && state_.global_step % args_.effective_eval_steps() == 0)
                evaluate(progress, control);
            if (epoch_done) end_epoch(control);
            if (epoch_done && args_.eval_strategy == "epoch") evaluate(progress, control);
            if ((args_.save_strategy == "steps" && state_.global_step % args_.save_steps == 0) ||
                (epoch_done && args_.save_strategy == "epoch"))
                save(progress, control);
            sync_stop(control);
        }
        loader_.reset();
        progress.finish();

        const double runtime =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double steps_run = double(state_.global_step - first_step);
        TrainOutput out;
        out.global_step = state_.global_step;
        // Over every step of the run, those before a resume included.
        out.training_loss = state_.global_step > 0 ? loss_total_ / double(state_.global_step) : 0;
        out.metrics = {
            {"train_runtime", detail::round_to(runtime, 4)},
            {"train_samples_per_second", detail::round_to(runtime > 0 ? double(samples) / runtime : 0, 3)},
            {"train_steps_per_second", detail::round_to(runtime > 0 ? steps_run / runtime : 0, 3)},
            {"train_loss", out.training_loss},
            {"epoch", state_.epoch}};
        nlohmann::json summary = {{"step", state_.global_step}, {"total_flos", 0}};
        for (const auto& [k, v] : out.metrics) summary[k] = v;
        log(summary, control);
        if (args_.load_best_model_at_end && state_.best_model_checkpoint) {
            load_weights(*state_.best_model_checkpoint);
            if (options_.log_stream)
                progress.message("Loaded the best model from " + *state_.best_model_checkpoint);
        }
        // Only rank 0 saved checkpoints and knows the best one.
        if (args_.load_best_model_at_end) broadcast_weights();
        if (main_process())
            detail::write_json_file(std::filesystem::path(args_.output_dir) / "trainer_state.json",
                                    state_.to_json());
        for (auto& c : options_.callbacks) c->on_train_end(args_, state_, control);
        return out;
    }

private:
    struct Trainable {
        ParameterStore<B, T>* store;
        std::string prefix;  // of its entries in optimizer.safetensors ("", "loss.")
        std::vector<ParamGroup<T>> groups;
        std::unique_ptr<ParamLayout<T>> layout;
        std::unique_ptr<AdamW<B, T>> optimizer;
    };

    // Where the loop is in the data: the epoch and the batches of it already consumed.
    struct Position {
        std::uint64_t epoch = 0;
        std::size_t batches_in_epoch = 0, batches_planned = 0;
    };

    static std::string loss_name(const L& loss) {
        if constexpr (requires {
                          { loss.name() } -> std::convertible_to<std::string_view>;
                      })
            return std::string(loss.name());
        else if constexpr (requires {
                               { L::name } -> std::convertible_to<std::string_view>;
                           })
            return std::string(L::name);
        else
            return "the loss";
    }

    static std::vector<L> one_loss(L loss) {
        std::vector<L> v;
        v.push_back(std::move(loss));
        return v;
    }

    static std::vector<L> losses_by_dataset(const data::DatasetDict& datasets,
                                            std::map<std::string, L> losses) {
        std::string names;
        for (const auto& n : datasets.names()) names += (names.empty() ? "'" : ", '") + n + "'";
        for (const auto& [name, loss] : losses) {
            const auto& d = datasets.names();
            if (std::find(d.begin(), d.end(), name) == d.end())
                detail::throw_error("SentenceTransformerTrainer: a loss is given for dataset '", name,
                                    "', but train_dataset has only ", names);
        }
        std::vector<L> out;
        for (const auto& name : datasets.names()) {
            const auto it = losses.find(name);
            if (it == losses.end())
                detail::throw_error("SentenceTransformerTrainer: no loss for dataset '", name,
                                    "'; a dict of losses needs one for each of ", names);
            out.push_back(std::move(it->second));
        }
        return out;
    }

    // The loss of dataset `name`: its own, or the one loss of every dataset.
    std::size_t loss_index(const std::string& name) const {
        if (losses_.size() == 1) return 0;
        const auto& names = train_.names();
        const auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end())
            detail::throw_error("SentenceTransformerTrainer: no loss for dataset '", name,
                                "' (losses are given per train_dataset name)");
        return static_cast<std::size_t>(it - names.begin());
    }

    // Before any work: the columns (and label) each dataset gives against what the loss
    // declares it reads (LossInputs). A loss that declares nothing checks its first batch.
    void check_columns(const data::DatasetDict& datasets, std::string_view role) const {
        if constexpr (requires {
                          { L::inputs } -> std::convertible_to<LossInputs>;
                      }) {
            const LossInputs in = L::inputs;
            for (std::size_t i = 0; i < datasets.size(); ++i) {
                const data::Dataset& d = datasets[i];
                const auto columns = d.input_columns();
                const bool label = d.label_column().has_value();
                if (columns.size() >= in.min_columns &&
                    (!in.max_columns || columns.size() <= in.max_columns) && (label || !in.needs_labels))
                    continue;
                std::string names;
                for (std::size_t c : columns)
                    names += (names.empty() ? "'" : ", '") + d.column(c).name() + "'";
                detail::throw_error("SentenceTransformerTrainer: ", loss_name(losses_[0]), " needs ",
                                    detail::columns_needed(in),
                                    in.columns_meaning.empty() ? "" : " " + std::string(in.columns_meaning),
                                    in.needs_labels ? " and a label column" : "", "; ", role,
                                    datasets.names()[i].empty() ? "" : " '" + datasets.names()[i] + "'",
                                    " has ", columns.size(), columns.size() == 1 ? " column [" : " columns [",
                                    names, "]", label ? " and a label column" : " and no label column");
            }
        }
    }

    // Distributed, every rank draws the same plan of global batches and takes its shard.
    std::unique_ptr<data::AnyBatchSampler> make_sampler() const {
        auto global = global_sampler();
        if (!options_.distributed) return std::make_unique<data::AnyBatchSampler>(std::move(global));
        return std::make_unique<data::AnyBatchSampler>(dist::DistributedSampler(
            std::move(global), options_.distributed->rank(), options_.distributed->size()));
    }

    data::AnyBatchSampler global_sampler() const {
        const data::SamplerOptions o{
            .batch_size = static_cast<std::size_t>(args_.per_device_train_batch_size) * world_size(),
            .drop_last = args_.dataloader_drop_last,
            .seed = static_cast<std::uint64_t>(args_.effective_data_seed())};
        auto one = [&](const data::Dataset& d) -> data::AnyBatchSampler {
            if (args_.batch_sampler == "no_duplicates") return data::NoDuplicatesBatchSampler(d, o);
            if (args_.batch_sampler == "no_duplicates_hashed")
                return data::NoDuplicatesHashedBatchSampler(d, o);
            if (args_.batch_sampler == "group_by_label") return data::GroupByLabelBatchSampler(d, o);
            return data::DefaultBatchSampler(d, o);
        };
        if (train_.size() == 1) return one(train_[0]);
        std::vector<data::AnyBatchSampler> each;
        for (std::size_t i = 0; i < train_.size(); ++i) each.push_back(one(train_[i]));
        if (args_.multi_dataset_batch_sampler == "round_robin")
            return data::RoundRobinBatchSampler(train_, std::move(each), o.seed);
        return data::ProportionalBatchSampler(train_, std::move(each), o.seed);
    }

    std::size_t world_size() const {
        return options_.distributed ? static_cast<std::size_t>(options_.distributed->size()) : 1;
    }
    bool main_process() const { return !options_.distributed || options_.distributed->is_main_process(); }

    // Every rank stops when rank 0, which evaluates and runs early stopping, says so.
    void sync_stop(TrainerControl& control) const {
        if (!options_.distributed) return;
        std::byte stop{control.should_training_stop};
        options_.distributed->broadcast(std::span<std::byte>(&stop, 1));
        control.should_training_stop = stop != std::byte{0};
    }

    void broadcast_weights() {
        if (options_.distributed)
            for (auto& t : trainables_) dist::broadcast_parameters(*options_.distributed, *t.store);
    }

    // transformers' decay exclusion (biases and LayerNorm weights) plus the learned
    // temperature and bias of the contrastive heads, which weight decay would pull
    // towards a temperature of 1 (open_clip excludes them too).
    static std::vector<std::string> no_decay_patterns() {
        return {"*bias", "*norm*", "*Norm*", "*logit_scale", "*logit_bias"};
    }

    void add_trainable(ParameterStore<B, T>& store, std::string prefix) {
        std::vector<ParamGroup<T>> groups;
        for (const auto& pattern : options_.frozen) groups.push_back({.pattern = pattern, .frozen = true});
        if (!args_.learning_rate_mapping.empty()) {
            std::vector<std::pair<std::string, T>> mapping;
            for (const auto& [pattern, lr] : args_.learning_rate_mapping)
                mapping.emplace_back(pattern, T(lr));
            // A mapping names the model's parameters; the loss's own may match none of it.
            if (prefix.empty())
                for (auto& g : learning_rate_mapping(store, mapping)) groups.push_back(std::move(g));
        }
        for (const auto& pattern : no_decay_patterns())
            groups.push_back({.pattern = pattern, .weight_decay = T(0)});
        Trainable t;
        t.store = &store;
        t.prefix = std::move(prefix);
        t.layout = std::make_unique<ParamLayout<T>>(store, groups, "SentenceTransformerTrainer");
        t.optimizer = std::make_unique<AdamW<B, T>>(
            store,
            typename AdamW<B, T>::Options{.lr = T(args_.learning_rate),
                                          .beta1 = T(args_.adam_beta1),
                                          .beta2 = T(args_.adam_beta2),
                                          .eps = T(args_.adam_epsilon),
                                          .weight_decay = T(args_.weight_decay)},
            groups);
        t.groups = std::move(groups);
        trainables_.push_back(std::move(t));
    }

    LossLabels<B, T> labels_of(const data::Batch<B>& batch) const {
        LossLabels<B, T> labels;
        labels.labels = batch.labels;
        if (batch.scores) {
            if constexpr (std::same_as<T, float>) {
                labels.scores = *batch.scores;
            } else {
                auto s = Tensor<B, T>::empty(batch.scores->shape());
                if (s.numel()) B::convert(s.data(), batch.scores->data(), s.numel());
                labels.scores = s;
            }
        }
        return labels;
    }

    // Forward and backward of one batch with its dataset's loss; returns the loss.
    double run_batch(const data::Batch<B>& batch, std::int64_t micro) {
        const L& loss_fn = losses_[loss_index(batch.dataset_name)];
        const auto seed = detail::step_seed(
            static_cast<std::uint64_t>(args_.seed),
            static_cast<std::uint64_t>(state_.global_step * args_.gradient_accumulation_steps + micro));
        // Each rank its own dropout stream: one stream on every rank would mask every shard alike.
        const auto rank = options_.distributed ? static_cast<std::uint64_t>(options_.distributed->rank()) : 0;
        const GraphOptions graph_options{.training = true,
                                         .seed = rank ? detail::step_seed(seed, rank) : seed};
        const auto labels = labels_of(batch);
        double value = 0;
        std::vector<Tensor<B, T>> guides;
        if constexpr (GuidedLoss<L, B, T> || CachedGuidedLoss<L, B, T>)
            for (const auto& in : batch.inputs) guides.push_back(options_.guide(in));
        // A cached loss may also take embeddings (for evaluation); training goes through its encoder.
        if constexpr (CachedLoss<L, B, T> || CachedGuidedLoss<L, B, T>) {
            const ColumnEncoder<B, T> encode = [&](Graph<B, T>& g, int column, index_t begin, index_t end) {
                return encode_rows(model_, g, batch, column, begin, end);
            };
            const auto columns = static_cast<int>(batch.inputs.size());
            const auto rows = static_cast<index_t>(batch.size());
            if constexpr (CachedGuidedLoss<L, B, T>)
                value = double(
                    loss_fn.forward_backward(encode, columns, rows, guides, labels, graph_options).item());
            else
                value = double(loss_fn.forward_backward(encode, columns, rows, labels, graph_options).item());
            value = mean_over_ranks(value);
            check_finite(value);
        } else {
            Graph<B, T> g(graph_options);
            auto loss = training_loss(g, loss_fn, batch, guides, labels);
            // Every rank checks (and logs) the same number, so all stop together.
            value = mean_over_ranks(double(loss.value().item()));
            check_finite(value);
            g.backward(loss);
        }
        return value;
    }

    // A type-erased loss has rows_loss whatever it holds, and says whether it works.
    static bool splits_by_rows(const L& loss) {
        if constexpr (requires {
                          { loss.splits_by_rows() } -> std::same_as<bool>;
                      })
            return loss.splits_by_rows();
        else
            return true;
    }

    double mean_over_ranks(double value) const {
        return options_.distributed ? dist::mean_over_ranks(*options_.distributed, value) : value;
    }

    // The loss a training step back-propagates: distributed, a loss that can be cut by
    // rows scores this rank's rows against the global batch gathered from every rank;
    // any other loss sees this rank's rows alone (the mean over ranks of per-row losses).
    Var<B, T> training_loss(Graph<B, T>& g, const L& loss_fn, const data::Batch<B>& batch,
                            const std::vector<Tensor<B, T>>& guides, const LossLabels<B, T>& labels) const {
        if constexpr (dist::RowsLoss<L, B, T> && !GuidedLoss<L, B, T> && !LayerwiseLoss<L, B, T>) {
            if (options_.distributed && splits_by_rows(loss_fn)) {
                std::vector<Var<B, T>> columns;
                for (const auto& in : batch.inputs) columns.push_back(encode_column(model_, g, in));
                return dist::gathered_loss(*options_.distributed, g, loss_fn, columns);
            }
        }
        return loss_on(g, loss_fn, batch, guides, labels);
    }

    // The loss of a batch over the model's embeddings of its columns (after every layer,
    // for a layerwise loss), recorded on `g`.
    Var<B, T> loss_on(Graph<B, T>& g, const L& loss_fn, const data::Batch<B>& batch,
                      const std::vector<Tensor<B, T>>& guides, const LossLabels<B, T>& labels) const {
        if constexpr (LayerwiseLoss<L, B, T>) {
            std::vector<std::vector<Var<B, T>>> layers;
            for (const auto& in : batch.inputs) {
                const auto column = encode_column_layers(model_, g, in);
                layers.resize(column.size());
                for (std::size_t l = 0; l < column.size(); ++l) layers[l].push_back(column[l]);
            }
            return loss_fn(g, layers, labels);
        } else {
            std::vector<Var<B, T>> columns;
            for (const auto& in : batch.inputs) columns.push_back(encode_column(model_, g, in));
            if constexpr (GuidedLoss<L, B, T>)
                return loss_fn(g, columns, guides, labels);
            else
                return loss_fn(g, columns, labels);
        }
    }

    // The loss over each eval dataset in eval mode, rows in order, batches of
    // per_device_eval_batch_size, averaged over rows as transformers' eval_loss.
    Metrics eval_losses() const {
        Metrics out;
        if constexpr (EmbeddingLoss<L, B, T> || LayerwiseLoss<L, B, T>) {
            const auto& datasets = *options_.eval_dataset;
            const auto size = static_cast<std::size_t>(args_.per_device_eval_batch_size);
            for (std::size_t i = 0; i < datasets.size(); ++i) {
                const auto& name = datasets.names()[i];
                const L& loss_fn = losses_[loss_index(name)];
                double total = 0;
                for (std::size_t begin = 0; begin < datasets[i].size(); begin += size) {
                    std::vector<std::size_t> rows;
                    for (std::size_t r = begin; r < std::min(begin + size, datasets[i].size()); ++r)
                        rows.push_back(r);
                    const auto batch =
                        data::Batch<B>::from_host(collator_.collate(datasets[i], rows, 0, false, name));
                    NoGradGuard no_grad;
                    Graph<B, T> g;
                    total += double(loss_on(g, loss_fn, batch, {}, labels_of(batch)).value().item()) *
                             double(rows.size());
                }
                out[name.empty() ? "eval_loss" : "eval_" + name + "_loss"] =
                    total / double(datasets[i].size());
            }
        }
        return out;
    }

    void check_finite(double value) const {
        if (!std::isfinite(value))
            detail::throw_error(
                "training stopped at step ", state_.global_step + 1, " of ", state_.max_steps,
                ": the loss is ", value,
                " (not finite); lower learning_rate or check the data for empty or broken rows");
    }

    // torch's clip_grad_norm_ over every trained parameter of the model and the loss together.
    T clip_gradients(T max_norm) {
        if (trainables_.size() == 1)
            return clip_grad_norm(*trainables_[0].store, max_norm, *trainables_[0].layout);
        T squares = T(0);
        for (auto& t : trainables_) {
            const T n = clip_grad_norm(*t.store, std::numeric_limits<T>::infinity(), *t.layout);
            squares += n * n;
        }
        const T norm = std::sqrt(squares);
        const T coef = max_norm / (norm + T(1e-6));
        if (coef < T(1))
            for (auto& t : trainables_) {
                auto grads = t.store->grads();
                for (const auto& r : t.layout->runs())
                    if (!r.frozen && r.end > r.begin)
                        B::scale(grads.data() + r.begin, grads.data() + r.begin, coef, r.end - r.begin,
                                 false);
            }
        return norm;
    }

    // batches_in_epoch is 0, or after a resume the batches the loader skips in this epoch.
    void start_epoch(TrainerControl& control) {
        // The plan's length: a multi-dataset sampler may give fewer batches than it advertises.
        data::AnyBatchSampler s = *sampler_;
        s.set_epoch(position_.epoch);
        position_.batches_planned = s.batches().size();
        loader_->set_epoch(position_.epoch);
        epoch_started_ = true;
        for (auto& c : options_.callbacks) c->on_epoch_begin(args_, state_, control);
    }

    void end_epoch(TrainerControl& control) {
        for (auto& c : options_.callbacks) c->on_epoch_end(args_, state_, control);
        ++position_.epoch;
        position_.batches_in_epoch = 0;
        epoch_started_ = false;
    }

    double epoch_progress() const {
        const double planned = double(std::max<std::size_t>(1, position_.batches_planned));
        return double(position_.epoch) + double(position_.batches_in_epoch) / planned;
    }

    void log(nlohmann::json entry, TrainerControl& control) {
        state_.log_history.push_back(entry);
        if (main_process())
            std::ofstream(std::filesystem::path(args_.output_dir) / "training_log.jsonl", std::ios::app)
                << entry.dump() << "\n";
        for (auto& c : options_.callbacks) c->on_log(args_, state_, control, entry);
    }

    // The JSONL log holds exactly log_history: after a resume, lines the interrupted run
    // wrote past its checkpoint are dropped.
    void rewrite_jsonl() const {
        std::string text;
        for (const auto& e : state_.log_history) text += e.dump() + "\n";
        io::atomic_write(std::filesystem::path(args_.output_dir) / "training_log.jsonl", text);
    }

    void evaluate(ProgressReporter& progress, TrainerControl& control) {
        if (!main_process()) return;
        Metrics metrics;
        if (options_.eval_dataset) metrics = eval_losses();
        if (options_.evaluator)
            for (const auto& [k, v] : options_.evaluator()) metrics[detail::best_metric_key(k)] = v;
        nlohmann::json entry = {{"epoch", state_.epoch}, {"step", state_.global_step}};
        std::string line = "eval at step " + std::to_string(state_.global_step) + ":";
        for (const auto& [k, v] : metrics) {
            entry[k] = v;
            line += " " + k + " " + std::to_string(v);
        }
        if (args_.metric_for_best_model) {
            const std::string key = detail::best_metric_key(*args_.metric_for_best_model);
            const auto it = metrics.find(key);
            if (it == metrics.end())
                detail::throw_error("metric_for_best_model '", *args_.metric_for_best_model,
                                    "': the evaluator returned no metric ", key);
            const bool greater = detail::greater_is_better(args_);
            if (!state_.best_metric ||
                (greater ? it->second > *state_.best_metric : it->second < *state_.best_metric)) {
                state_.best_metric = it->second;
                state_.best_global_step = state_.global_step;
            }
        }
        log(entry, control);
        progress.message(line);
        for (auto& c : options_.callbacks) c->on_evaluate(args_, state_, control, metrics);
    }

    void save(ProgressReporter& progress, TrainerControl& control) {
        if (!main_process()) return;
        namespace fs = std::filesystem;
        const fs::path out(args_.output_dir);
        const fs::path folder = out / ("checkpoint-" + std::to_string(state_.global_step));
        if (state_.best_global_step && *state_.best_global_step == state_.global_step)
            state_.best_model_checkpoint = folder.string();
        for (const auto& c : options_.callbacks)
            if (auto name = c->state_name(); !name.empty()) state_.stateful_callbacks[name] = c->state();
        save_checkpoint(out, state_, [&](const fs::path& dir) { write_checkpoint_files(dir); });
        if (args_.save_total_limit) {
            std::optional<fs::path> keep;
            if (state_.best_model_checkpoint) keep = fs::path(*state_.best_model_checkpoint);
            rotate_checkpoints(out, *args_.save_total_limit, keep);
        }
        progress.message("Saved " + folder.string());
        for (auto& c : options_.callbacks) c->on_save(args_, state_, control, folder);
    }

    void write_checkpoint_files(const std::filesystem::path& dir) {
        model_.save_pretrained(dir);
        // Optimizer moments and step counts, in T so that they come back exactly.
        std::vector<std::vector<T>> host;
        std::vector<std::pair<std::string, std::vector<std::int64_t>>> names;
        io::SafetensorsMetadata metadata;
        for (auto& t : trainables_) {
            const auto numel = static_cast<std::int64_t>(t.optimizer->exp_avg().numel());
            host.push_back(t.optimizer->exp_avg().to_vector());
            names.push_back({t.prefix + "exp_avg", {numel}});
            host.push_back(t.optimizer->exp_avg_sq().to_vector());
            names.push_back({t.prefix + "exp_avg_sq", {numel}});
            metadata.emplace_back(t.prefix + "step", std::to_string(t.optimizer->steps()));
        }
        write_tensors(dir / "optimizer.safetensors", names, host, metadata);
        // A loss's own parameters (CLIPLoss's logit_scale), which save_pretrained does not see.
        for (auto& t : trainables_) {
            if (t.prefix.empty()) continue;
            std::vector<std::vector<T>> values;
            std::vector<std::pair<std::string, std::vector<std::int64_t>>> params;
            for (std::size_t i = 0; i < t.store->size(); ++i) {
                const Parameter p{static_cast<int>(i)};
                const Shape& s = t.store->shape(p);
                params.push_back({t.store->name(p), std::vector<std::int64_t>(s.begin(), s.end())});
                values.push_back(t.store->value(p).to_vector());
            }
            write_tensors(dir / "loss.safetensors", params, values, {{"format", "pt"}});
        }
        detail::write_json_file(dir / "scheduler.json", {{"lr_scheduler_type", args_.lr_scheduler_type},
                                                         {"num_warmup_steps", schedule_.num_warmup_steps},
                                                         {"num_training_steps", schedule_.num_training_steps},
                                                         {"last_step", state_.global_step}});
        detail::write_json_file(dir / "rng_state.json", {{"seed", args_.seed},
                                                         {"data_seed", args_.effective_data_seed()},
                                                         {"epoch", position_.epoch},
                                                         {"batches_in_epoch", position_.batches_in_epoch},
                                                         {"train_loss_sum", loss_total_},
                                                         {"num_threads", get_num_threads()},
                                                         {"world_size", world_size()}});
        detail::write_json_file(dir / "training_args.json", args_.to_json());
    }

    static void write_tensors(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& names,
                              const std::vector<std::vector<T>>& values,
                              const io::SafetensorsMetadata& metadata) {
        std::vector<io::TensorToSave> tensors;
        for (std::size_t i = 0; i < names.size(); ++i)
            tensors.emplace_back(names[i].first, names[i].second, values[i].data());
        io::save_safetensors(path, tensors, metadata);
    }

    void load_weights(const std::filesystem::path& folder) {
        load_state_dict(model_, model_.parameters(), io::SafetensorsCheckpoint::open(folder));
        for (auto& t : trainables_) {
            if (t.prefix.empty()) continue;
            const auto file = io::SafetensorsFile::open(folder / "loss.safetensors");
            for (std::size_t i = 0; i < t.store->size(); ++i) {
                const Parameter p{static_cast<int>(i)};
                const auto& name = t.store->name(p);
                if (!file.contains(name))
                    detail::throw_error((folder / "loss.safetensors").string(), ": no tensor '", name,
                                        "' for the loss's parameter");
                t.store->value(p).copy_from(
                    Tensor<B, T>::from_vector(file.template read_as<T>(name), t.store->shape(p)));
            }
        }
    }

    void load_checkpoint(const std::filesystem::path& folder) {
        const auto saved = TrainerState::from_file(folder / "trainer_state.json");
        load_weights(folder);
        const auto optimizer_file = folder / "optimizer.safetensors";
        const auto file = io::SafetensorsFile::open(optimizer_file);
        for (auto& t : trainables_) {
            auto read = [&](const std::string& name) {
                if (!file.contains(name))
                    detail::throw_error(optimizer_file.string(), ": no tensor '", name, "'");
                return Tensor<B, T>::from_vector(file.template read_as<T>(name),
                                                 t.optimizer->exp_avg().shape());
            };
            std::optional<long> step;
            for (const auto& [k, v] : file.metadata())
                if (k == t.prefix + "step") step = std::stol(v);
            if (!step)
                detail::throw_error(optimizer_file.string(), ": no '", t.prefix, "step' in the metadata");
            t.optimizer->load_state(read(t.prefix + "exp_avg"), read(t.prefix + "exp_avg_sq"), *step);
        }
        const auto rng = detail::read_json_file(folder / "rng_state.json");
        const detail::JsonObjectReader r(rng, (folder / "rng_state.json").string());
        // The global batch, and so the data position, is per_device_train_batch_size x world size.
        if (const auto world = r.get<std::size_t>("world_size", 1); world != world_size())
            r.path("world_size")
                .fail("the checkpoint was written by ", world, world == 1 ? " process" : " processes",
                      ", this run has ", world_size(), "; resume with as many");
        position_.epoch = r.require<std::uint64_t>("epoch");
        position_.batches_in_epoch = r.require<std::size_t>("batches_in_epoch");
        loss_total_ = r.require<double>("train_loss_sum");
        const auto max_steps = state_.max_steps;
        state_ = saved;
        state_.max_steps = max_steps;
        for (auto& c : options_.callbacks) {
            const auto name = c->state_name();
            if (name.empty()) continue;
            if (!state_.stateful_callbacks.contains(name))
                detail::throw_error((folder / "trainer_state.json").string(), ": stateful_callbacks has no '",
                                    name, "' to resume the callback from");
            c->load_state(state_.stateful_callbacks.at(name));
        }
    }

    Model& model_;
    Args args_;
    data::DatasetDict train_;
    // One per train dataset, or one for all.
    std::vector<L> losses_;
    data::Collator collator_;
    TrainerOptions<Model> options_;
    std::unique_ptr<data::AnyBatchSampler> sampler_;
    std::vector<Trainable> trainables_;
    std::unique_ptr<Loader> loader_;
    LRSchedule schedule_;
    TrainerState state_;
    Position position_;
    // The sum of every step's loss so far, for train_loss.
    double loss_total_ = 0;
    bool epoch_started_ = false;
};

template <class Model, class L>
SentenceTransformerTrainer(Model&, SentenceTransformerTrainingArguments, data::DatasetDict, L, data::Collator,
                           TrainerOptions<Model> = {}) -> SentenceTransformerTrainer<Model, L>;
template <class Model, class L>
SentenceTransformerTrainer(Model&, SentenceTransformerTrainingArguments, data::Dataset, L, data::Collator,
                           TrainerOptions<Model> = {}) -> SentenceTransformerTrainer<Model, L>;
template <class Model, class L>
SentenceTransformerTrainer(Model&, SentenceTransformerTrainingArguments, data::DatasetDict,
                           std::map<std::string, L>, data::Collator, TrainerOptions<Model> = {})
    -> SentenceTransformerTrainer<Model, L>;

}  // namespace tandem
