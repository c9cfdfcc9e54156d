// SentenceTransformerStack: sentence-transformers' module list, a transformer tower
// followed by Pooling, Dense and Normalize (any Layers), composed at compile time. A text
// tower gives the stack encode_text, an image tower encode_image. Module i's parameters
// are named "i.<its own names>" (under a Router, "<route>.i.<...>"), as PyTorch names a
// SentenceTransformer's state_dict, so each module maps onto its {i}_{Class}/ folder by
// dropping the prefix.
// reference: sentence_transformers.SentenceTransformer(modules=[Transformer, Pooling, Dense, Normalize]).
#pragma once

#include <tandem/core/text_batch.hpp>
#include <tandem/io/config/sentence_transformers.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/nn/dense.hpp>
#include <tandem/nn/module.hpp>
#include <tandem/nn/normalize.hpp>
#include <tandem/nn/pooling_layer.hpp>

#include <nlohmann/json.hpp>

#include <concepts>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace tandem {

// Represents: a transformer tower for one kind of input (a TextBatch, or pixel values as
// a Var): an EncoderTower whose encode gives its own sentence vector (BERT's pooler
// output, CLIP's projected embedding), and whose forward(graph, input).last_hidden_state
// gives the token states [batch, tokens, dim] a Pooling reads.
template <class Tower, class Input>
concept StackTower = EncoderTower<Tower, Input> &&
    requires(const Tower& t, Graph<typename Tower::backend_type, typename Tower::value_type>& g,
             const Input& in) {
    {
        t.forward(g, in).last_hidden_state
        } -> std::convertible_to<Var<typename Tower::backend_type, typename Tower::value_type>>;
};

// Represents: a StackTower that also gives Hugging Face's output_hidden_states:
// forward(graph, input, true).hidden_states, the token states after the embeddings and
// after every layer, the last being last_hidden_state.
template <class Tower, class Input>
concept HiddenStateTower = StackTower<Tower, Input> &&
    requires(const Tower& t, Graph<typename Tower::backend_type, typename Tower::value_type>& g,
             const Input& in) {
    {
        t.forward(g, in, true).hidden_states
        } -> std::convertible_to<std::vector<Var<typename Tower::backend_type, typename Tower::value_type>>>;
};

template <class Tower>
concept TextStackTower = StackTower<Tower, TextBatch<typename Tower::backend_type>>;
template <class Tower>
concept ImageStackTower = StackTower<Tower, Var<typename Tower::backend_type, typename Tower::value_type>>;

namespace detail {
template <class M>
struct is_pooling : std::false_type {};
template <Backend B, Scalar T>
struct is_pooling<Pooling<B, T>> : std::true_type {};
template <class M>
struct is_dense : std::false_type {};
template <Backend B, Scalar T>
struct is_dense<Dense<B, T>> : std::true_type {};
template <class M>
struct is_normalize : std::false_type {};
template <Backend B, Scalar T>
struct is_normalize<Normalize<B, T>> : std::true_type {};

template <class... Modules>
constexpr bool first_is_pooling() {
    if constexpr (sizeof...(Modules) == 0)
        return false;
    else
        return is_pooling<std::tuple_element_t<0, std::tuple<Modules...>>>::value;
}

enum class StackFault {
    none,
    not_tower,
    not_module,
    backends_differ,
    scalars_differ,
    not_layer,
    late_pooling
};

template <class Tower, class... Modules>
consteval StackFault stack_fault() {
    if constexpr (!Module<Tower> || !(TextStackTower<Tower> || ImageStackTower<Tower>))
        return StackFault::not_tower;
    else if constexpr (!(Module<Modules> && ...))
        return StackFault::not_module;
    else if constexpr (!(std::same_as<typename Modules::backend_type, typename Tower::backend_type> && ...))
        return StackFault::backends_differ;
    else if constexpr (!(std::same_as<typename Modules::value_type, typename Tower::value_type> && ...))
        return StackFault::scalars_differ;
    else if constexpr (!(Layer<Modules> && ...))
        return StackFault::not_layer;
    else {
        // Pooling reads token states, which only the tower gives.
        constexpr bool poolings[] = {false, is_pooling<Modules>::value...};
        for (std::size_t i = 2; i < sizeof(poolings); ++i)
            if (poolings[i]) return StackFault::late_pooling;
        return StackFault::none;
    }
}

// sentence-transformers' class path of a module, as v6 writes it into modules.json
// (older paths such as sentence_transformers.models.Pooling are read too).
inline constexpr const char* kStTransformerType =
    "sentence_transformers.base.modules.transformer.Transformer";
inline constexpr const char* kStRouterType = "sentence_transformers.base.modules.router.Router";
template <class M>
constexpr const char* st_module_type() {
    if constexpr (is_pooling<M>::value)
        return "sentence_transformers.sentence_transformer.modules.pooling.Pooling";
    else if constexpr (is_dense<M>::value)
        return "sentence_transformers.base.modules.dense.Dense";
    else if constexpr (is_normalize<M>::value)
        return "sentence_transformers.base.modules.normalize.Normalize";
    else
        return "";
}

// The name a module's folder takes: the last part of its class path.
inline std::string st_class_name(const std::string& type) { return type.substr(type.rfind('.') + 1); }

// The text before "0." at a name's start or after a dot: the route prefix of a stack
// whose tower is module 0 ("" or "text."), or npos when the name has no such part.
inline std::size_t module_zero_at(const std::string& name) {
    for (std::size_t p = name.find("0."); p != std::string::npos; p = name.find("0.", p + 1))
        if (p == 0 || name[p - 1] == '.') return p;
    return std::string::npos;
}
}  // namespace detail

// Reached only when a rule is broken: it states the rule in one sentence.
template <class Tower, class... Modules>
class SentenceTransformerStack {
    static constexpr auto fault = detail::stack_fault<Tower, Modules...>();
    static_assert(fault != detail::StackFault::not_tower,
                  "SentenceTransformerStack: the first module must be a transformer tower, a Module with "
                  "encode(graph, input) and forward(graph, input).last_hidden_state for a TextBatch or "
                  "pixel values");
    static_assert(fault != detail::StackFault::not_module,
                  "SentenceTransformerStack: every module must be a Module (backend_type, value_type, "
                  "for_each_parameter)");
    static_assert(fault != detail::StackFault::backends_differ,
                  "SentenceTransformerStack: every module must use the tower's backend");
    static_assert(fault != detail::StackFault::scalars_differ,
                  "SentenceTransformerStack: every module must use the tower's scalar type");
    static_assert(fault != detail::StackFault::not_layer,
                  "SentenceTransformerStack: every module after the tower must be a Layer, with "
                  "forward(graph, Var) returning a Var");
    static_assert(fault != detail::StackFault::late_pooling,
                  "SentenceTransformerStack: Pooling must come right after the tower, which gives the token "
                  "states it pools");

public:
    explicit SentenceTransformerStack(Tower, Modules...) {}
};

template <class Tower, class... Modules>
requires(detail::stack_fault<Tower, Modules...>() ==
         detail::StackFault::none) class SentenceTransformerStack<Tower, Modules...> {
public:
    using backend_type = typename Tower::backend_type;
    using value_type = typename Tower::value_type;
    using B = backend_type;
    using T = value_type;
    static constexpr bool encodes_text = TextStackTower<Tower>;
    using Input = std::conditional_t<encodes_text, TextBatch<B>, Var<B, T>>;
    static constexpr std::size_t size = 1 + sizeof...(Modules);
    // Module 1 pools the tower's token states (else the tower gives its own vector).
    static constexpr bool pools_tokens = detail::first_is_pooling<Modules...>();
    static constexpr bool encodes_layers = pools_tokens && HiddenStateTower<Tower, Input>;

    // Module i's parameters must be named "<prefix>i." (prefix "" or a route's "text."), so
    // that no two modules' names can meet and each module is its own folder's checkpoint.
    explicit SentenceTransformerStack(Tower tower, Modules... modules)
        : tower_(std::move(tower)), modules_(std::move(modules)...) {
        check_names();
    }

    const Tower& tower() const { return tower_; }
    // Module i of the stack, 1 for the first after the tower.
    template <std::size_t I>
    const auto& get() const {
        if constexpr (I == 0)
            return tower_;
        else
            return std::get<I - 1>(modules_);
    }
    // "" or the route prefix ("text.") every parameter name starts with.
    const std::string& prefix() const { return prefix_; }

    // The sentence embedding [batch, dim]: Pooling over the tower's token states when it
    // is module 1 (padding and, without include_prompt, the prompt left out), else the
    // tower's own vector, then every later module in turn.
    Var<B, T> encode(Graph<B, T>& g, const Input& in) const {
        return run(g, in, std::index_sequence_for<Modules...>{});
    }

    Var<B, T> encode_text(Graph<B, T>& g, const TextBatch<B>& text) const requires encodes_text {
        return encode(g, text);
    }
    Var<B, T> encode_image(Graph<B, T>& g, const Var<B, T>& pixel_values) const requires(!encodes_text) {
        return encode(g, pixel_values);
    }

    // What AdaptiveLayerLoss trains: one sentence embedding per hidden state of the tower
    // (0 the embedding layer's), each pooled and passed through the later modules as the
    // last one is; the last entry is encode's result.
    // reference: sentence_transformers AdaptiveLayerLoss's TransformerDecorator, which
    // swaps token_embeddings for all_layer_embeddings[i] before Pooling.
    std::vector<Var<B, T>> encode_layers(Graph<B, T>& g, const Input& in) const requires encodes_layers {
        std::vector<Var<B, T>> out;
        for (const auto& states : tower_.forward(g, in, true).hidden_states)
            out.push_back(after_tower(g, states, in, std::index_sequence_for<Modules...>{}));
        return out;
    }
    std::vector<Var<B, T>> encode_text_layers(Graph<B, T>& g, const TextBatch<B>& text) const
        requires(encodes_text&& encodes_layers) {
        return encode_layers(g, text);
    }
    std::vector<Var<B, T>> encode_image_layers(Graph<B, T>& g, const Var<B, T>& pixel_values) const
        requires(!encodes_text && encodes_layers) {
        return encode_layers(g, pixel_values);
    }

    template <class F>
    void for_each_parameter(F&& f) const {
        tower_.for_each_parameter(f);
        std::apply([&](const auto&... m) { (m.for_each_parameter(f), ...); }, modules_);
    }

    // modules.json's entries (idx, name, path, type) with each module's config.json beside
    // them: what is needed to build the stack again and read its weights back by name.
    nlohmann::ordered_json describe() const {
        auto out = nlohmann::ordered_json::array();
        out.push_back({{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", detail::kStTransformerType}});
        describe_modules(out, std::index_sequence_for<Modules...>{});
        return out;
    }

private:
    template <std::size_t... I>
    Var<B, T> run(Graph<B, T>& g, const Input& in, std::index_sequence<I...> modules) const {
        if constexpr (pools_tokens) {
            return after_tower(g, tower_.forward(g, in).last_hidden_state, in, modules);
        } else {
            auto x = tower_.encode(g, in);
            ((x = std::get<I>(modules_).forward(g, x)), ...);
            return x;
        }
    }

    // Pooling over token states [batch, tokens, dim], then the modules after it.
    template <std::size_t... I>
    Var<B, T> after_tower(Graph<B, T>& g, const Var<B, T>& states, const Input& in,
                          std::index_sequence<I...>) const {
        Var<B, T> x;
        if constexpr (encodes_text)
            x = std::get<0>(modules_).forward(g, states, in.attention_mask, in.prompt_length);
        else
            x = std::get<0>(modules_).forward(g, states);
        const auto step = [&]<std::size_t K>(std::integral_constant<std::size_t, K>) {
            if constexpr (K > 0) x = std::get<K>(modules_).forward(g, x);
        };
        (step(std::integral_constant<std::size_t, I>{}), ...);
        return x;
    }

    template <std::size_t... I>
    void describe_modules(nlohmann::ordered_json& out, std::index_sequence<I...>) const {
        (describe_module(out, I + 1, std::get<I>(modules_)), ...);
    }

    // A StackModule is described as the module it holds.
    template <class M>
    static void describe_module(nlohmann::ordered_json& out, std::size_t idx, const M& m) {
        if constexpr (requires { m.visit([](const auto&) {}); }) {
            m.visit([&](const auto& held) { describe_module(out, idx, held); });
        } else {
            const std::string type = detail::st_module_type<M>();
            nlohmann::ordered_json entry{{"idx", idx},
                                         {"name", std::to_string(idx)},
                                         {"path", std::to_string(idx) + "_" + detail::st_class_name(type)},
                                         {"type", type}};
            if constexpr (requires { io::to_json(m.config()); }) entry["config"] = io::to_json(m.config());
            out.push_back(std::move(entry));
        }
    }

    void check_names() {
        std::string first;
        tower_.for_each_parameter([&](const std::string& name, Parameter) {
            if (first.empty()) first = name;
        });
        const std::size_t at = detail::module_zero_at(first);
        if (first.empty() || at == std::string::npos)
            detail::throw_error(
                "SentenceTransformerStack: the tower's parameters must be named under \"0.\" ",
                "(or \"<route>.0.\"), found '", first, "'");
        prefix_ = first.substr(0, at);
        std::size_t idx = 0;
        const auto check = [&](const auto& m) {
            const std::string want = prefix_ + std::to_string(idx) + ".";
            m.for_each_parameter([&](const std::string& name, Parameter) {
                if (!name.starts_with(want))
                    detail::throw_error("SentenceTransformerStack: module ", idx, "'s parameter '", name,
                                        "' is not named under \"", want, "\"");
            });
            ++idx;
        };
        check(tower_);
        std::apply([&](const auto&... m) { (check(m), ...); }, modules_);
    }

    Tower tower_;
    std::tuple<Modules...> modules_;
    std::string prefix_;
};

}  // namespace tandem
