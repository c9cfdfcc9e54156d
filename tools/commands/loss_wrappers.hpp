// `tandem loss` for the wrappers and the regulariser: MatryoshkaLoss, AdaptiveLayerLoss,
// Matryoshka2dLoss, GlobalOrthogonalRegularizationLoss; and the factory that builds the
// inner loss a wrapper names in --args ({"loss": {"name": ..., "args": {...}}}) from any
// family.
//
// AdaptiveLayerLoss and Matryoshka2dLoss read the embeddings after every layer: --args
// "num_layers" (the number of hidden states, the embedding layer's output first and the
// model's output last, as len(all_layer_embeddings) in sentence-transformers) and
// --embeddings in layer-major order, column c after hidden state l at position
// l * columns + c. grad_<i>.npy follows the same order.
#pragma once

#include "loss.hpp"
#include "loss_distill.hpp"
#include "loss_pairs.hpp"
#include "loss_triplet.hpp"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> wrapper_loss_names = {
    "MatryoshkaLoss", "AdaptiveLayerLoss", "Matryoshka2dLoss", "GlobalOrthogonalRegularizationLoss"};

// The in-batch family's losses as inner losses. A cached loss computes its uncached form's
// value and gradient, so inside a wrapper it is that form (without GradCache's memory
// saving); a loss with learned scalars starts from its initial values.
template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_in_batch_loss(const std::string& name, const json& args) {
    if (name == "MultipleNegativesRankingLoss")
        return AnyEmbeddingLoss<Cpu, T>(
            MultipleNegativesRankingLoss<Cpu, T>(mnrl_options(JsonArgs(name, args, mnrl_args))));
    if (name == "CachedMultipleNegativesRankingLoss")
        return AnyEmbeddingLoss<Cpu, T>(
            MultipleNegativesRankingLoss<Cpu, T>(cached_mnrl_loss<T>(args).options(), name));
    if (name == "MultipleNegativesSymmetricRankingLoss") {
        const JsonArgs a(name, args, {"scale", "similarity_fct", "gather_across_devices"});
        a.single_process("gather_across_devices");
        MultipleNegativesSymmetricRankingLossOptions o;
        o.scale = a.get("scale", o.scale);
        o.similarity_fct = a.choice("similarity_fct", o.similarity_fct, similarity_names);
        return AnyEmbeddingLoss<Cpu, T>(MultipleNegativesSymmetricRankingLoss<Cpu, T>(o));
    }
    return std::nullopt;
}

template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_wrapper_loss(const std::string& name, const json& args);

// The inner loss of a wrapper: {"name": NAME, "args": {...}} (or just NAME), any loss over
// embeddings from any family.
template <class T>
AnyEmbeddingLoss<Cpu, T> make_inner_loss(const std::string& wrapper, const json& spec) {
    std::string name;
    json args = json::object();
    if (spec.is_string()) {
        name = spec.get<std::string>();
    } else if (spec.is_object() && spec.contains("name") && spec["name"].is_string()) {
        for (const auto& [key, value] : spec.items())
            if (key != "name" && key != "args")
                detail::throw_error(args_option(), ": ", wrapper, " argument 'loss' has no key '", key,
                                    "'; it takes name and args");
        name = spec["name"].get<std::string>();
        if (spec.contains("args")) args = spec["args"];
    } else {
        detail::throw_error(args_option(), ": ", wrapper,
                            " argument 'loss' must be {\"name\": LOSS, \"args\": {...}}, found ",
                            spec.dump());
    }
    for (const auto& make : {make_in_batch_loss<T>, make_distill_loss<T>, make_pair_loss<T>,
                             make_triplet_loss<T>, make_wrapper_loss<T>})
        if (auto loss = make(name, args)) return std::move(*loss);
    // Its GradCache equals the whole batch at once, which a wrapper over embeddings computes.
    if (name == "MegaBatchMarginLoss") return AnyEmbeddingLoss<Cpu, T>(mega_batch_margin_loss<T>(args));
    // Losses that exist but cannot sit under a wrapper over embeddings, and why.
    const std::map<std::string, std::string> refused = {
        {"SoftmaxLoss", "its classifier is sized for the full embedding, not a truncated one"},
        {"ContrastiveTensionLoss", "it encodes one column with a second model copy"},
        {"ContrastiveTensionLossInBatchNegatives", "it encodes one column with a second model copy"}};
    if (const auto it = refused.find(name); it != refused.end())
        detail::throw_error(args_option(), ": ", wrapper, " cannot wrap ", name, ": ", it->second);
    std::string names;
    for (const auto* family :
         {&in_batch_loss_names, &distill_loss_names, &pair_loss_names, &triplet_loss_names})
        for (const auto& n : *family)
            if (n != "CLIPLoss" && n != "SigLIPLoss") names += (names.empty() ? "" : ", ") + n;
    detail::throw_error(args_option(), ": ", wrapper, " cannot wrap '", name,
                        "'; the inner loss must be a loss over embeddings: ", names,
                        ", MegaBatchMarginLoss, MatryoshkaLoss, GlobalOrthogonalRegularizationLoss");
}

inline std::vector<double> weights_of(const JsonArgs& a) {
    return a.get<std::vector<double>>("matryoshka_weights", {});
}

inline const std::map<std::string, LayerWeighting> layer_weighting_names = {
    {"uniform", LayerWeighting::uniform}, {"log", LayerWeighting::log}, {"linear", LayerWeighting::linear}};

template <class T>
std::optional<AnyEmbeddingLoss<Cpu, T>> make_wrapper_loss(const std::string& name, const json& args) {
    if (name == "MatryoshkaLoss") {
        const JsonArgs a(name, args, {"loss", "matryoshka_dims", "matryoshka_weights", "n_dims_per_step"});
        if (!args.contains("loss"))
            detail::throw_error(args_option(), ": MatryoshkaLoss needs the argument 'loss'");
        return AnyEmbeddingLoss<Cpu, T>(
            MatryoshkaLoss<Cpu, T>(make_inner_loss<T>(name, args["loss"]),
                                   {.matryoshka_dims = a.get<std::vector<index_t>>("matryoshka_dims", {}),
                                    .matryoshka_weights = weights_of(a),
                                    .n_dims_per_step = a.get("n_dims_per_step", -1)}));
    }
    if (name == "GlobalOrthogonalRegularizationLoss") {
        const JsonArgs a(name, args,
                         {"similarity_fct", "mean_weight", "second_moment_weight", "aggregation"});
        GlobalOrthogonalRegularizationLossOptions o;
        using Aggregation = GlobalOrthogonalRegularizationLossOptions::Aggregation;
        o.similarity_fct = a.choice("similarity_fct", o.similarity_fct, similarity_names);
        // None leaves the term out, as 0 does.
        for (auto [key, weight] : {std::pair{"mean_weight", &o.mean_weight},
                                   std::pair{"second_moment_weight", &o.second_moment_weight}})
            *weight = args.contains(key) && args[key].is_null() ? 0.0 : a.get(key, *weight);
        o.aggregation =
            a.choice("aggregation", o.aggregation, {{"mean", Aggregation::mean}, {"sum", Aggregation::sum}});
        return AnyEmbeddingLoss<Cpu, T>(GlobalOrthogonalRegularizationLoss<Cpu, T>(o));
    }
    return std::nullopt;
}

// The hidden states' embeddings, layer-major, back into [layer][column].
template <class T>
void run_layerwise(
    const Options& o, const Inputs<T>& in, std::size_t layers,
    const std::function<Var<Cpu, T>(Graph<Cpu, T>&, const std::vector<std::vector<Var<Cpu, T>>>&,
                                    const LossLabels<Cpu, T>&)>& loss) {
    if (layers == 0 || in.embeddings.size() % layers != 0)
        detail::throw_error(o.loss, ": needs --embeddings for each of the num_layers = ", layers,
                            " hidden states, the same number of columns each (layer-major); got ",
                            in.embeddings.size(), " files");
    const std::size_t columns = in.embeddings.size() / layers;
    Graph<Cpu, T> g;
    std::vector<Var<Cpu, T>> vars;
    for (const auto& e : in.embeddings) vars.push_back(g.input(e, true));
    std::vector<std::vector<Var<Cpu, T>>> by_layer(layers);
    for (std::size_t l = 0; l < layers; ++l)
        by_layer[l].assign(vars.begin() + static_cast<std::ptrdiff_t>(l * columns),
                           vars.begin() + static_cast<std::ptrdiff_t>((l + 1) * columns));
    auto value = loss(g, by_layer, in.labels);
    g.backward(value);
    save_npy(o.out / "loss.npy", value.value());
    std::vector<Tensor<Cpu, T>> grads;
    for (const auto& v : vars) grads.push_back(g.grad(v));
    write_embedding_grads(o, grads);
}

// AdaptiveLayerLoss or Matryoshka2dLoss, over the embeddings after every layer, behind one type.
template <class T>
struct LayerwiseLossFunction {
    std::string loss_name;
    std::function<Var<Cpu, T>(Graph<Cpu, T>&, const std::vector<std::vector<Var<Cpu, T>>>&,
                              const LossLabels<Cpu, T>&)>
        loss;

    std::string_view name() const { return loss_name; }
    Var<Cpu, T> operator()(Graph<Cpu, T>& g, const std::vector<std::vector<Var<Cpu, T>>>& layers,
                           const LossLabels<Cpu, T>& labels) const {
        return loss(g, layers, labels);
    }
};

// The layerwise loss named `name`, or nullopt when it is neither; `extra` are keys its
// caller reads itself.
template <class T>
std::optional<LayerwiseLossFunction<T>> make_layerwise_loss(const std::string& name, const json& args,
                                                            const std::set<std::string>& extra = {}) {
    if (name != "AdaptiveLayerLoss" && name != "Matryoshka2dLoss") return std::nullopt;
    std::set<std::string> known = {
        "loss",          "n_layers_per_step", "last_layer_weight", "prior_layers_weight",
        "kl_div_weight", "kl_temperature",    "layer_weighting"};
    known.insert(extra.begin(), extra.end());
    const bool two_d = name == "Matryoshka2dLoss";
    if (two_d) known.insert({"matryoshka_dims", "matryoshka_weights", "n_dims_per_step"});
    const JsonArgs a(name, args, known);
    if (!args.contains("loss")) detail::throw_error(args_option(), ": ", name, " needs the argument 'loss'");
    auto inner = make_inner_loss<T>(name, args["loss"]);
    AdaptiveLayerLossOptions d;
    const auto layer_weighting = a.choice("layer_weighting", d.layer_weighting, layer_weighting_names);
    if (two_d) {
        Matryoshka2dLossOptions m;
        return LayerwiseLossFunction<T>{
            name,
            Matryoshka2dLoss<Cpu, T>(
                std::move(inner), {.matryoshka_dims = a.get<std::vector<index_t>>("matryoshka_dims", {}),
                                   .matryoshka_weights = weights_of(a),
                                   .n_layers_per_step = a.get("n_layers_per_step", m.n_layers_per_step),
                                   .n_dims_per_step = a.get("n_dims_per_step", m.n_dims_per_step),
                                   .last_layer_weight = a.get("last_layer_weight", m.last_layer_weight),
                                   .prior_layers_weight = a.get("prior_layers_weight", m.prior_layers_weight),
                                   .kl_div_weight = a.get("kl_div_weight", m.kl_div_weight),
                                   .kl_temperature = a.get("kl_temperature", m.kl_temperature),
                                   .layer_weighting = layer_weighting})};
    }
    return LayerwiseLossFunction<T>{
        name,
        AdaptiveLayerLoss<Cpu, T>(std::move(inner),
                                  {.n_layers_per_step = a.get("n_layers_per_step", d.n_layers_per_step),
                                   .last_layer_weight = a.get("last_layer_weight", d.last_layer_weight),
                                   .prior_layers_weight = a.get("prior_layers_weight", d.prior_layers_weight),
                                   .kl_div_weight = a.get("kl_div_weight", d.kl_div_weight),
                                   .kl_temperature = a.get("kl_temperature", d.kl_temperature),
                                   .layer_weighting = layer_weighting})};
}

template <class T>
bool run_wrapper_losses(const Options& o, const Inputs<T>& in) {
    if (const auto loss = make_layerwise_loss<T>(o.loss, o.args, {"num_layers"})) {
        if (!o.args.contains("num_layers"))
            detail::throw_error(
                args_option(), ": ", o.loss,
                " needs 'num_layers', the number of hidden states whose embeddings --embeddings "
                "gives (layer-major)");
        set_params<T>(o, o.loss, nullptr);
        const auto layers = static_cast<std::size_t>(std::max(
            JsonArgs(o.loss, json{{"num_layers", o.args["num_layers"]}}, {"num_layers"}).get("num_layers", 0),
            0));
        run_layerwise<T>(o, in, layers, *loss);
        return true;
    }
    const auto loss = make_wrapper_loss<T>(o.loss, o.args);
    if (!loss) return false;
    set_params<T>(o, o.loss, nullptr);
    run_plain<T>(o, in, *loss, nullptr);
    return true;
}

}  // namespace tandem::cli::loss_cmd
