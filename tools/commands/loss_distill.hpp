// `tandem loss` for the distillation losses: EmbedDistillLoss, MSELoss, MarginMSELoss,
// DistillKLDivLoss; the teacher's embeddings or scores come with --labels (float).
#pragma once

#include "loss.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> distill_loss_names = {"EmbedDistillLoss", "MSELoss", "MarginMSELoss",
                                                     "DistillKLDivLoss"};

inline const std::map<std::string, SimilarityFunction> pairwise_similarity_names = {
    {"pairwise_cos_sim", SimilarityFunction::cos_sim}, {"pairwise_dot_score", SimilarityFunction::dot_score}};

// A learnable projection would be the loss's own parameter; not offered yet.
inline void no_projection(const std::string& loss, const JsonArgs& a) {
    if (a.get<index_t>("projection_dim", 0) != 0)
        detail::throw_error(args_option(), ": ", loss,
                            " argument 'projection_dim' is not supported; the student's embeddings must have "
                            "the teacher's width (projection_dim null)");
}

// The loss named `name` with the Python arguments `args`; nullopt when it is not a
// distillation loss.
template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_distill_loss(const std::string& name, const json& args) {
    if (name == "EmbedDistillLoss") {
        const JsonArgs a(name, args, {"distance_metric", "projection_dim"});
        no_projection(name, a);
        EmbedDistillLossOptions o;
        o.distance_metric = a.choice(
            "distance_metric", o.distance_metric,
            {{"mse", DistanceMetric::mse}, {"l2", DistanceMetric::l2}, {"cosine", DistanceMetric::cosine}});
        return AnyEmbeddingLoss<Cpu, T>(EmbedDistillLoss<Cpu, T>(o));
    }
    if (name == "MSELoss") {
        const JsonArgs a(name, args, {"projection_dim"});
        no_projection(name, a);
        return AnyEmbeddingLoss<Cpu, T>(MSELoss<Cpu, T>());
    }
    if (name == "MarginMSELoss") {
        const JsonArgs a(name, args, {"similarity_fct"});
        MarginMSELossOptions o;
        o.similarity_fct = a.choice("similarity_fct", o.similarity_fct, pairwise_similarity_names);
        return AnyEmbeddingLoss<Cpu, T>(MarginMSELoss<Cpu, T>(o));
    }
    if (name == "DistillKLDivLoss") {
        const JsonArgs a(name, args,
                         {"similarity_fct", "temperature", "student_temperature", "teacher_temperature"});
        DistillKLDivLossOptions o;
        o.similarity_fct = a.choice("similarity_fct", o.similarity_fct, pairwise_similarity_names);
        o.temperature = a.get("temperature", o.temperature);
        // null (or absent): the shared temperature.
        const double unset = std::numeric_limits<double>::quiet_NaN();
        if (const double t = a.get("student_temperature", unset); !std::isnan(t)) o.student_temperature = t;
        if (const double t = a.get("teacher_temperature", unset); !std::isnan(t)) o.teacher_temperature = t;
        return AnyEmbeddingLoss<Cpu, T>(DistillKLDivLoss<Cpu, T>(o));
    }
    return std::nullopt;
}

template <class T>
bool run_distill_losses(const Options& o, const Inputs<T>& in) {
    const auto loss = make_distill_loss<T>(o.loss, o.args);
    if (!loss) return false;
    set_params<T>(o, o.loss, nullptr);
    run_plain<T>(o, in, *loss, nullptr);
    return true;
}

}  // namespace tandem::cli::loss_cmd
