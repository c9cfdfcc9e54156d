// `tandem loss` for the pair losses: CosineSimilarityLoss, CoSENTLoss, AnglELoss,
// ContrastiveLoss, OnlineContrastiveLoss; the pair's score or 0/1 label comes with
// --labels.
#pragma once

#include "loss.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> pair_loss_names = {"CosineSimilarityLoss", "CoSENTLoss", "AnglELoss",
                                                  "ContrastiveLoss", "OnlineContrastiveLoss"};

inline const std::map<std::string, SiameseDistanceMetric> siamese_distance_names = {
    {"EUCLIDEAN", SiameseDistanceMetric::euclidean},
    {"MANHATTAN", SiameseDistanceMetric::manhattan},
    {"COSINE_DISTANCE", SiameseDistanceMetric::cosine_distance}};

// The loss named `name` with the Python arguments `args`; nullopt when it is not a pair
// loss.
template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_pair_loss(const std::string& name, const json& args) {
    if (name == "CosineSimilarityLoss") {
        const JsonArgs a(name, args, {"loss_fct", "cos_score_transformation"});
        // Only the defaults are offered: nn.MSELoss() and nn.Identity().
        a.choice("loss_fct", 0, {{"MSELoss", 0}});
        a.choice("cos_score_transformation", 0, {{"Identity", 0}});
        return AnyEmbeddingLoss<Cpu, T>(CosineSimilarityLoss<Cpu, T>());
    }
    if (name == "CoSENTLoss") {
        const JsonArgs a(name, args, {"scale", "similarity_fct"});
        CoSENTLossOptions o;
        o.scale = a.get("scale", o.scale);
        o.similarity_fct = a.choice("similarity_fct", o.similarity_fct,
                                    {{"pairwise_cos_sim", PairwiseSimilarity::cos_sim},
                                     {"pairwise_dot_score", PairwiseSimilarity::dot_score},
                                     {"pairwise_angle_sim", PairwiseSimilarity::angle_sim}});
        return AnyEmbeddingLoss<Cpu, T>(CoSENTLoss<Cpu, T>(o));
    }
    if (name == "AnglELoss") {
        const JsonArgs a(name, args, {"scale"});
        typename AnglELoss<Cpu, T>::Options o;
        o.scale = a.get("scale", o.scale);
        return AnyEmbeddingLoss<Cpu, T>(AnglELoss<Cpu, T>(o));
    }
    if (name == "ContrastiveLoss") {
        const JsonArgs a(name, args, {"distance_metric", "margin", "size_average"});
        ContrastiveLossOptions o;
        o.distance_metric = a.choice("distance_metric", o.distance_metric, siamese_distance_names);
        o.margin = a.get("margin", o.margin);
        o.size_average = a.get("size_average", o.size_average);
        return AnyEmbeddingLoss<Cpu, T>(ContrastiveLoss<Cpu, T>(o));
    }
    if (name == "OnlineContrastiveLoss") {
        const JsonArgs a(name, args, {"distance_metric", "margin"});
        OnlineContrastiveLossOptions o;
        o.distance_metric = a.choice("distance_metric", o.distance_metric, siamese_distance_names);
        o.margin = a.get("margin", o.margin);
        return AnyEmbeddingLoss<Cpu, T>(OnlineContrastiveLoss<Cpu, T>(o));
    }
    return std::nullopt;
}

template <class T>
bool run_pair_losses(const Options& o, const Inputs<T>& in) {
    const auto loss = make_pair_loss<T>(o.loss, o.args);
    if (!loss) return false;
    set_params<T>(o, o.loss, nullptr);
    run_plain<T>(o, in, *loss, nullptr);
    return true;
}

}  // namespace tandem::cli::loss_cmd
