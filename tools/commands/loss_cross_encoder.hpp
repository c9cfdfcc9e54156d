// `tandem loss` for the cross-encoder losses: the scores (logits) of the pairs come as the
// one --embeddings file, laid out as include/tandem/losses/cross_encoder_scores.hpp says,
// the labels with --labels (listwise: -inf for padding). Names that sentence-transformers
// also gives a bi-encoder loss are module-qualified as Python imports them
// (cross_encoder.MSELoss); every cross-encoder loss answers to that form.
#pragma once

#include "loss.hpp"

#include <string>
#include <vector>

namespace tandem::cli::loss_cmd {

const std::vector<std::string> cross_encoder_loss_names = {"BinaryCrossEntropyLoss",
                                                           "CrossEntropyLoss",
                                                           "cross_encoder.MSELoss",
                                                           "cross_encoder.MarginMSELoss",
                                                           "cross_encoder.MultipleNegativesRankingLoss",
                                                           "cross_encoder.CachedMultipleNegativesRankingLoss",
                                                           "LambdaLoss",
                                                           "RankNetLoss",
                                                           "ListNetLoss",
                                                           "ListMLELoss",
                                                           "PListMLELoss",
                                                           "ADRMSELoss"};

namespace ce_cmd {

namespace ce = tandem::cross_encoder;

// The Python class name of a cross-encoder loss, or "" when `name` is none of them.
inline std::string class_name(const std::string& name) {
    const std::string prefix = "cross_encoder.";
    for (const auto& n : cross_encoder_loss_names) {
        const std::string bare = n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
        if (name == n || name == prefix + bare) return bare;
    }
    return "";
}

// activation_fn as a torch.nn class name (torch.nn.Sigmoid, Identity, ...); null: none.
inline ce::Activation activation(const JsonArgs& a, ce::Activation fallback) {
    return a.choice("activation_fn", fallback,
                    {{"Identity", ce::Activation::identity},
                     {"Sigmoid", ce::Activation::sigmoid},
                     {"Tanh", ce::Activation::tanh}});
}

// null means no activation, as the reference's `activation_fn or nn.Identity()`.
inline ce::Activation activation_or_none(const json& args, const JsonArgs& a, ce::Activation fallback) {
    if (args.contains("activation_fn") && args["activation_fn"].is_null()) return ce::Activation::identity;
    return activation(a, fallback);
}

// Arguments that only shape how the model is called (mini-batches of pairs, the drawing
// of negatives) have nothing to do once the scores are given.
inline void scores_given(const std::string& loss, const JsonArgs& a) {
    if (a.get<index_t>("num_negatives", -1) != -1)
        detail::throw_error(args_option(), ": ", loss,
                            " argument 'num_negatives' must be null: the scores already hold every "
                            "query's negatives");
}

inline ce::MultipleNegativesRankingLossOptions mnrl_options(const json& args, const JsonArgs& a,
                                                            const std::string& loss) {
    scores_given(loss, a);
    ce::MultipleNegativesRankingLossOptions o;
    o.scale = a.get("scale", o.scale);
    o.activation_fn = activation_or_none(args, a, o.activation_fn);
    return o;
}

inline ce::LambdaLossOptions lambda_options(const std::string& loss, const json& args, const JsonArgs& a) {
    ce::LambdaLossOptions o;
    if (args.contains("weighting_scheme")) {
        const json& scheme = args["weighting_scheme"];
        const std::map<std::string, ce::WeightingScheme> names = {
            {"NoWeightingScheme", ce::WeightingScheme::NoWeightingScheme},
            {"NDCGLoss1Scheme", ce::WeightingScheme::NDCGLoss1Scheme},
            {"NDCGLoss2Scheme", ce::WeightingScheme::NDCGLoss2Scheme},
            {"LambdaRankScheme", ce::WeightingScheme::LambdaRankScheme},
            {"NDCGLoss2PPScheme", ce::WeightingScheme::NDCGLoss2PPScheme}};
        // A name, or {"name": NAME, "mu": ...}; null: no weighting, as the reference.
        if (scheme.is_null()) {
            o.weighting_scheme = ce::WeightingScheme::NoWeightingScheme;
        } else {
            const json named = scheme.is_object() ? scheme : json{{"name", scheme}};
            const JsonArgs s(loss + " weighting_scheme", named, {"name", "mu"});
            o.weighting_scheme = s.choice("name", o.weighting_scheme, names);
            o.mu = s.get("mu", o.mu);
            if (named.contains("mu") && o.weighting_scheme != ce::WeightingScheme::NDCGLoss2PPScheme)
                detail::throw_error(args_option(), ": ", loss,
                                    " weighting_scheme: only NDCGLoss2PPScheme takes mu");
        }
    }
    if (const index_t k = a.get<index_t>("k", 0); k != 0) o.k = k;
    o.sigma = a.get("sigma", o.sigma);
    o.eps = a.get("eps", o.eps);
    o.reduction_log =
        a.choice("reduction_log", o.reduction_log,
                 {{"natural", ce::ReductionLog::natural}, {"binary", ce::ReductionLog::binary}});
    o.activation_fn = activation_or_none(args, a, o.activation_fn);
    return o;
}

template <class T>
void write(const Options& o, const Tensor<Cpu, T>& loss, const Tensor<Cpu, T>& grad) {
    save_npy(o.out / "loss.npy", loss);
    save_npy(o.out / "grad_0.npy", grad);
}

template <class T, class L>
void run_scores(const Options& o, const Tensor<Cpu, T>& scores, const LossLabels<Cpu, T>& labels,
                const L& loss) {
    Graph<Cpu, T> g;
    const auto x = g.input(scores, true);
    const auto value = loss(g, x, labels);
    g.backward(value);
    write(o, value.value(), g.grad(x));
}

// The cached loss run as in training: the scores are the "model", a parameter read in
// mini-batches of pairs, candidate-major.
template <class T>
void run_cached_scores(const Options& o, const Tensor<Cpu, T>& scores,
                       const ce::CachedMultipleNegativesRankingLoss<Cpu, T>& loss) {
    const Shape& s = scores.shape();
    if (s.rank() != 2)
        detail::throw_error(loss.name, ": needs scores [batch, 1 + negatives]; got scores of shape ",
                            s.str());
    const auto transposed = [](const Tensor<Cpu, T>& t) {
        NoGradGuard no_grad;
        Graph<Cpu, T> g;
        return permute(g.input(t), {1, 0}).value();
    };
    ParameterStore<Cpu, T> store;
    const auto pairs = store.add("scores", {s.numel()});
    store.value(pairs).copy_from(transposed(scores).reshape({s.numel()}));
    store.zero_grad();
    const ce::PairScorer<Cpu, T> score = [&](Graph<Cpu, T>& g, index_t begin, index_t end) {
        return slice(g.parameter(store, pairs), 0, begin, end);
    };
    const auto value = loss.forward_backward(score, s[0], s[1]);
    write(o, value, transposed(store.grad(pairs).reshape({s[1], s[0]})));
}

}  // namespace ce_cmd

template <class T>
bool run_cross_encoder_losses(const Options& o, const Inputs<T>& in) {
    using namespace ce_cmd;
    const std::string name = class_name(o.loss);
    if (name.empty()) return false;
    set_params<T>(o, o.loss, nullptr);
    if (in.embeddings.size() != 1)
        detail::throw_error("option --embeddings: ", o.loss, " needs one file, the scores of the pairs; got ",
                            in.embeddings.size(), " files");
    const auto& scores = in.embeddings[0];
    const auto run = [&](const auto& loss) { run_scores<T>(o, scores, in.labels, loss); };
    const json& args = o.args;
    const auto with_activation = [&](std::set<std::string> known) {
        known.insert("activation_fn");
        return JsonArgs(o.loss, args, known);
    };
    if (name == "BinaryCrossEntropyLoss") {
        const JsonArgs a = with_activation({"pos_weight"});
        ce::BinaryCrossEntropyLossOptions options{.activation_fn = activation_or_none(args, a, {})};
        if (args.contains("pos_weight") && !args["pos_weight"].is_null())
            options.pos_weight = a.get("pos_weight", 1.0);
        run(ce::BinaryCrossEntropyLoss<Cpu, T>(options));
    } else if (name == "CrossEntropyLoss") {
        const JsonArgs a = with_activation({});
        run(ce::CrossEntropyLoss<Cpu, T>({.activation_fn = activation_or_none(args, a, {})}));
    } else if (name == "MSELoss") {
        const JsonArgs a = with_activation({});
        run(ce::MSELoss<Cpu, T>({.activation_fn = activation_or_none(args, a, {})}));
    } else if (name == "MarginMSELoss") {
        const JsonArgs a = with_activation({});
        run(ce::MarginMSELoss<Cpu, T>({.activation_fn = activation_or_none(args, a, {})}));
    } else if (name == "MultipleNegativesRankingLoss") {
        const JsonArgs a = with_activation({"num_negatives", "scale"});
        run(ce::MultipleNegativesRankingLoss<Cpu, T>(mnrl_options(args, a, o.loss)));
    } else if (name == "CachedMultipleNegativesRankingLoss") {
        const JsonArgs a =
            with_activation({"num_negatives", "scale", "mini_batch_size", "show_progress_bar"});
        run_cached_scores<T>(o, scores,
                             ce::CachedMultipleNegativesRankingLoss<Cpu, T>(
                                 mnrl_options(args, a, o.loss), a.get<index_t>("mini_batch_size", 32)));
    } else if (name == "LambdaLoss") {
        const JsonArgs a =
            with_activation({"weighting_scheme", "k", "sigma", "eps", "reduction_log", "mini_batch_size"});
        run(ce::LambdaLoss<Cpu, T>(lambda_options(o.loss, args, a)));
    } else if (name == "RankNetLoss") {
        const JsonArgs a = with_activation({"k", "sigma", "eps", "reduction_log", "mini_batch_size"});
        const auto l = lambda_options(o.loss, args, a);
        run(ce::RankNetLoss<Cpu, T>({.k = l.k,
                                     .sigma = l.sigma,
                                     .eps = l.eps,
                                     .reduction_log = l.reduction_log,
                                     .activation_fn = l.activation_fn}));
    } else if (name == "ListNetLoss") {
        const JsonArgs a = with_activation({"mini_batch_size"});
        run(ce::ListNetLoss<Cpu, T>({.activation_fn = activation_or_none(args, a, {})}));
    } else if (name == "ListMLELoss" || name == "PListMLELoss") {
        auto known = std::set<std::string>{"mini_batch_size", "respect_input_order"};
        if (name == "PListMLELoss") known.insert("lambda_weight");
        const JsonArgs a = with_activation(known);
        const auto act = activation_or_none(args, a, {});
        const bool in_order = a.get("respect_input_order", true);
        if (name == "ListMLELoss") {
            run(ce::ListMLELoss<Cpu, T>({.activation_fn = act, .respect_input_order = in_order}));
        } else {
            ce::PListMLELossOptions options{.activation_fn = act, .respect_input_order = in_order};
            // The default PListMLELambdaWeight, or null for none.
            if (args.contains("lambda_weight") && args["lambda_weight"].is_null())
                options.lambda_weight = std::nullopt;
            else
                a.choice("lambda_weight", 0, {{"PListMLELambdaWeight", 0}});
            run(ce::PListMLELoss<Cpu, T>(options));
        }
    } else if (name == "ADRMSELoss") {
        const JsonArgs a = with_activation({"alpha", "mini_batch_size"});
        run(ce::ADRMSELoss<Cpu, T>(
            {.alpha = a.get("alpha", 1.0), .activation_fn = activation_or_none(args, a, {})}));
    }
    return true;
}

}  // namespace tandem::cli::loss_cmd
