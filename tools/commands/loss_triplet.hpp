// `tandem loss` for the triplet losses: TripletLoss over (anchor, positive, negative)
// columns, and the batch forms over one column with integer class labels (--labels).
#pragma once

#include "loss.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> triplet_loss_names = {"TripletLoss", "BatchAllTripletLoss",
                                                     "BatchHardTripletLoss", "BatchSemiHardTripletLoss",
                                                     "BatchHardSoftMarginTripletLoss"};

inline const std::map<std::string, BatchHardTripletLossDistanceFunction> batch_distance_names = {
    {"cosine_distance", BatchHardTripletLossDistanceFunction::cosine_distance},
    {"euclidean_distance", BatchHardTripletLossDistanceFunction::euclidean_distance},
    {"eucledian_distance", BatchHardTripletLossDistanceFunction::euclidean_distance}};

// The loss named `name` with the Python arguments `args`; nullopt when it is not a
// triplet loss.
template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_triplet_loss(const std::string& name, const json& args) {
    if (name == "TripletLoss") {
        const JsonArgs a(name, args, {"distance_metric", "triplet_margin"});
        TripletLossOptions o;
        o.distance_metric = a.choice("distance_metric", o.distance_metric,
                                     {{"COSINE", TripletDistanceMetric::cosine},
                                      {"EUCLIDEAN", TripletDistanceMetric::euclidean},
                                      {"MANHATTAN", TripletDistanceMetric::manhattan}});
        o.triplet_margin = a.get("triplet_margin", o.triplet_margin);
        return AnyEmbeddingLoss<Cpu, T>(TripletLoss<Cpu, T>(o));
    }
    if (name == "BatchHardSoftMarginTripletLoss") {
        const JsonArgs a(name, args, {"distance_metric"});
        BatchHardSoftMarginTripletLossOptions o;
        o.distance_metric = a.choice("distance_metric", o.distance_metric, batch_distance_names);
        return AnyEmbeddingLoss<Cpu, T>(BatchHardSoftMarginTripletLoss<Cpu, T>(o));
    }
    if (name != "BatchAllTripletLoss" && name != "BatchHardTripletLoss" && name != "BatchSemiHardTripletLoss")
        return std::nullopt;
    const JsonArgs a(name, args, {"distance_metric", "margin"});
    BatchTripletLossOptions o;
    o.distance_metric = a.choice("distance_metric", o.distance_metric, batch_distance_names);
    o.margin = a.get("margin", o.margin);
    if (name == "BatchAllTripletLoss") return AnyEmbeddingLoss<Cpu, T>(BatchAllTripletLoss<Cpu, T>(o));
    if (name == "BatchHardTripletLoss") return AnyEmbeddingLoss<Cpu, T>(BatchHardTripletLoss<Cpu, T>(o));
    return AnyEmbeddingLoss<Cpu, T>(BatchSemiHardTripletLoss<Cpu, T>(o));
}

template <class T>
bool run_triplet_losses(const Options& o, const Inputs<T>& in) {
    const auto loss = make_triplet_loss<T>(o.loss, o.args);
    if (!loss) return false;
    set_params<T>(o, o.loss, nullptr);
    run_plain<T>(o, in, *loss, nullptr);
    return true;
}

}  // namespace tandem::cli::loss_cmd
