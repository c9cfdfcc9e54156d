// Parameter groups of an optimizer: name patterns over a ParameterStore's Hugging Face
// names that set a learning rate, a weight decay or freeze, and the layout of the arena
// into runs of neighbouring parameters that share their settings, so an optimizer step
// is one kernel call per run. learning_rate_mapping builds regex groups as
// sentence-transformers' `learning_rate_mapping` training argument does.
// reference: torch.optim param_groups; sentence_transformers.base.trainer
// (create_optimizer: re.search over named_parameters, later patterns win).
#pragma once

#include <tandem/autograd/parameter_store.hpp>

#include <fnmatch.h>

#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

// Parameters whose Hugging Face name matches `pattern`: a shell glob (`*` matches any run
// of characters, dots included) matching the whole name, or, with `regex`, an ECMAScript
// regular expression found anywhere in the name (Python's re.search). Each setting of a
// parameter comes from the first group that matches it and sets it; a parameter is frozen
// when any group that matches it is; what no group sets takes the optimizer's options.
// Freezing is one flag with the store's: laying out a frozen group marks its parameters
// as requiring no gradient (ParameterStore::set_requires_grad), so backward skips them,
// and a parameter the store already holds frozen is frozen in the layout too (its
// gradient stays zero, and AdamW would otherwise still decay it).
template <Scalar T>
struct ParamGroup {
    std::string pattern;
    std::optional<T> lr{};
    std::optional<T> weight_decay{};
    // Not updated at all and given no gradient (torch's requires_grad=False).
    bool frozen = false;
    bool regex = false;
};

// The arena split into runs [begin, end) of neighbouring parameters with the same
// settings; padding between parameters goes with the run before it.
template <Scalar T>
class ParamLayout {
public:
    struct Run {
        index_t begin, end;
        std::optional<T> lr, weight_decay;
        bool frozen;
    };

    // `owner` names the optimizer in error messages.
    template <Backend B>
    ParamLayout(ParameterStore<B, T>& store, std::vector<ParamGroup<T>> groups, const std::string& owner)
        : groups_(std::move(groups)) {
        for (const auto& g : groups_) {
            if (g.pattern.empty())
                detail::throw_error(owner, ": a parameter group has an empty name pattern");
            try {
                regexes_.push_back(g.regex ? std::regex(g.pattern) : std::regex());
            } catch (const std::regex_error& e) {
                detail::throw_error(owner, ": parameter group pattern '", g.pattern,
                                    "': expected a regular expression, found an invalid one (", e.what(),
                                    ")");
            }
        }
        const index_t total = store.values().numel();
        struct Key {
            int lr, weight_decay;
            bool frozen;
            bool operator==(const Key&) const = default;
        };
        Key previous{};
        for (std::size_t i = 0; i < store.size(); ++i) {
            const Parameter p{static_cast<int>(i)};
            const std::string& name = store.name(p);
            Key key{-1, -1, !store.requires_grad(p)};
            for (std::size_t g = 0; g < groups_.size(); ++g) {
                if (!matches(g, name)) continue;
                if (key.lr < 0 && groups_[g].lr) key.lr = static_cast<int>(g);
                if (key.weight_decay < 0 && groups_[g].weight_decay) key.weight_decay = static_cast<int>(g);
                key.frozen = key.frozen || groups_[g].frozen;
            }
            if (key.frozen) store.set_requires_grad(p, false);
            const index_t begin = store.offset(p);
            const index_t end =
                i + 1 < store.size() ? store.offset(Parameter{static_cast<int>(i + 1)}) : total;
            if (!runs_.empty() && key == previous) {
                runs_.back().end = end;
                continue;
            }
            runs_.push_back({begin, end, key.lr < 0 ? std::nullopt : groups_[key.lr].lr,
                             key.weight_decay < 0 ? std::nullopt : groups_[key.weight_decay].weight_decay,
                             key.frozen});
            previous = key;
        }
    }

    const std::vector<Run>& runs() const { return runs_; }
    const std::vector<ParamGroup<T>>& groups() const { return groups_; }

    // The pattern of the first group that matches `name` ("" for none), for logs and tests.
    std::string group_of(const std::string& name) const {
        for (std::size_t g = 0; g < groups_.size(); ++g)
            if (matches(g, name)) return groups_[g].pattern;
        return {};
    }

private:
    bool matches(std::size_t g, const std::string& name) const {
        return groups_[g].regex ? std::regex_search(name, regexes_[g])
                                : fnmatch(groups_[g].pattern.c_str(), name.c_str(), 0) == 0;
    }

    std::vector<ParamGroup<T>> groups_;
    std::vector<std::regex> regexes_;
    std::vector<Run> runs_;
};

// sentence-transformers' `learning_rate_mapping`: (regular expression over parameter
// names, learning rate) pairs in order, a later pattern winning where two match. The
// groups set only the learning rate, so weight-decay groups (biases, norms) still apply
// to the parameters they match, as the trainer keeps decay and no-decay parameters apart.
// A pattern that matches no parameter is an error, as it is there.
template <Backend B, Scalar T>
std::vector<ParamGroup<T>> learning_rate_mapping(ParameterStore<B, T>& store,
                                                 const std::vector<std::pair<std::string, T>>& mapping) {
    std::vector<ParamGroup<T>> groups;
    for (auto it = mapping.rbegin(); it != mapping.rend(); ++it)
        groups.push_back({.pattern = it->first, .lr = it->second, .regex = true});
    // Laying the groups out checks every pattern is a valid regular expression.
    const ParamLayout<T> layout(store, groups, "learning_rate_mapping");
    for (const auto& [pattern, lr] : mapping) {
        const std::regex re(pattern);
        bool found = false;
        for (std::size_t i = 0; i < store.size() && !found; ++i)
            found = std::regex_search(store.name(Parameter{static_cast<int>(i)}), re);
        if (!found)
            detail::throw_error("learning_rate_mapping: pattern '", pattern,
                                "': expected it to match some parameter name, found none that it matches");
    }
    return groups;
}

}  // namespace tandem
