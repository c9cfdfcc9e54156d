// Learning-rate schedules as transformers defines them: the multiplier of the base
// learning rate at each optimizer step (torch's LambdaLR: step k, counted from 0, runs
// with base_lr * factor(k)), and the warmup length from a ratio or a step count.
// reference: transformers.optimization (get_scheduler and the _lr_lambda of each
// schedule), transformers.TrainingArguments.get_warmup_steps.
#pragma once

#include <tandem/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

namespace tandem {

enum class SchedulerType {
    Constant,
    ConstantWithWarmup,
    Linear,
    Cosine,
    CosineWithRestarts,
    Polynomial,
    InverseSqrt
};

// transformers' SchedulerType values: "linear", "cosine", ...
inline SchedulerType scheduler_type_from_name(std::string_view name) {
    if (name == "constant") return SchedulerType::Constant;
    if (name == "constant_with_warmup") return SchedulerType::ConstantWithWarmup;
    if (name == "linear") return SchedulerType::Linear;
    if (name == "cosine") return SchedulerType::Cosine;
    if (name == "cosine_with_restarts") return SchedulerType::CosineWithRestarts;
    if (name == "polynomial") return SchedulerType::Polynomial;
    if (name == "inverse_sqrt") return SchedulerType::InverseSqrt;
    detail::throw_error("lr_scheduler_type: expected one of constant, constant_with_warmup, linear, cosine, ",
                        "cosine_with_restarts, polynomial, inverse_sqrt; found '", name, "'");
}

// The warmup length: `warmup_steps` when it is at least 1, otherwise a ratio of the
// training steps rounded up, `ceil(ratio * total)`, where the ratio is `warmup_steps`
// itself when it lies in (0, 1) (transformers 5) or else `warmup_ratio` (transformers 4).
inline long get_warmup_steps(long num_training_steps, double warmup_steps, double warmup_ratio = 0) {
    if (warmup_steps < 0) detail::throw_error("warmup_steps: expected a value >= 0, found ", warmup_steps);
    if (warmup_ratio < 0 || warmup_ratio > 1)
        detail::throw_error("warmup_ratio: expected a value in [0, 1], found ", warmup_ratio);
    if (warmup_steps >= 1) return static_cast<long>(warmup_steps);
    const double ratio = warmup_steps > 0 ? warmup_steps : warmup_ratio;
    return static_cast<long>(std::ceil(static_cast<double>(num_training_steps) * ratio));
}

struct LRSchedule {
    SchedulerType type = SchedulerType::Linear;
    long num_warmup_steps = 0;
    long num_training_steps = 0;
    // cosine: 0.5 (half a cosine down to 0); cosine_with_restarts: the number of restarts,
    // 1 when unset.
    std::optional<double> num_cycles{};
    // polynomial: lr_end is an absolute rate, so the base rate (lr_init) must be known.
    double lr_end = 1e-7;
    double power = 1.0;
    double lr_init = 0;
    // inverse_sqrt: defaults to num_warmup_steps, or 10000 without warmup.
    std::optional<long> timescale{};

    // The multiplier of the base learning rate at 0-based optimizer step `step`.
    double factor(long step) const {
        const double s = static_cast<double>(step);
        const double warmup = static_cast<double>(num_warmup_steps);
        if (type == SchedulerType::Constant) return 1.0;
        if (type == SchedulerType::ConstantWithWarmup)
            return step < num_warmup_steps ? s / std::max(1.0, warmup) : 1.0;
        if (step < num_warmup_steps) return s / static_cast<double>(std::max(1L, num_warmup_steps));
        const double decay_steps = static_cast<double>(std::max(1L, num_training_steps - num_warmup_steps));
        const double pi = 3.14159265358979323846;
        switch (type) {
            case SchedulerType::Linear:
                return std::max(0.0, static_cast<double>(num_training_steps - step) / decay_steps);
            case SchedulerType::Cosine: {
                const double progress = (s - warmup) / decay_steps;
                return std::max(0.0, 0.5 * (1.0 + std::cos(pi * num_cycles.value_or(0.5) * 2.0 * progress)));
            }
            case SchedulerType::CosineWithRestarts: {
                const double progress = (s - warmup) / decay_steps;
                if (progress >= 1.0) return 0.0;
                // Python's % of non-negative operands is fmod.
                return std::max(
                    0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(num_cycles.value_or(1.0) * progress, 1.0))));
            }
            case SchedulerType::Polynomial: {
                if (step > num_training_steps) return lr_end / lr_init;
                const double pct_remaining =
                    1.0 - (s - warmup) / static_cast<double>(num_training_steps - num_warmup_steps);
                return ((lr_init - lr_end) * std::pow(pct_remaining, power) + lr_end) / lr_init;
            }
            case SchedulerType::InverseSqrt: {
                const double t = static_cast<double>(timescale_or_default());
                return 1.0 / std::sqrt((s + (t - warmup)) / t);
            }
            case SchedulerType::Constant:
            case SchedulerType::ConstantWithWarmup:
                break;  // returned above, before the warmup every other schedule shares
        }
        return 1.0;
    }

    // The learning rate at step `step` for base rate `base_lr`.
    double lr(double base_lr, long step) const { return base_lr * factor(step); }

    long timescale_or_default() const {
        if (timescale) return *timescale;
        return num_warmup_steps ? num_warmup_steps : 10000;
    }
};

// transformers' get_scheduler: the schedule by name, with the checks its functions make.
// `lr_init` is the optimizer's base rate, which only polynomial reads.
inline LRSchedule get_scheduler(std::string_view name, long num_warmup_steps, long num_training_steps,
                                LRSchedule extra = {}) {
    LRSchedule s = extra;
    s.type = scheduler_type_from_name(name);
    s.num_warmup_steps = num_warmup_steps;
    s.num_training_steps = num_training_steps;
    if (num_warmup_steps < 0)
        detail::throw_error("get_scheduler(", name, "): num_warmup_steps: expected >= 0, found ",
                            num_warmup_steps);
    const bool needs_total = s.type == SchedulerType::Linear || s.type == SchedulerType::Cosine ||
                             s.type == SchedulerType::CosineWithRestarts ||
                             s.type == SchedulerType::Polynomial;
    if (needs_total && num_training_steps <= 0)
        detail::throw_error("get_scheduler(", name, "): num_training_steps: expected > 0, found ",
                            num_training_steps);
    if (s.type == SchedulerType::Polynomial) {
        if (!(s.lr_init > s.lr_end))
            detail::throw_error("get_scheduler(polynomial): lr_end (", s.lr_end,
                                ") must be smaller than the initial lr (", s.lr_init, ")");
        if (num_training_steps <= num_warmup_steps)
            detail::throw_error("get_scheduler(polynomial): num_training_steps (", num_training_steps,
                                ") must exceed num_warmup_steps (", num_warmup_steps, ")");
    }
    if (s.type == SchedulerType::InverseSqrt && s.timescale && *s.timescale <= 0)
        detail::throw_error("get_scheduler(inverse_sqrt): timescale: expected > 0, found ", *s.timescale);
    return s;
}

}  // namespace tandem
