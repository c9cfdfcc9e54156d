// The argument reader of the subcommands not yet declared to CLI11 (demo, evaluate, loss):
// --flag VALUE pairs, boolean --flags and positional arguments, with tandem::Error on misuse.
// CLI11 hands such a subcommand everything after its name.
#pragma once

#include <tandem/core/error.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::cli {

class Args {
public:
    explicit Args(std::vector<std::string> items) : items_(std::move(items)) {}

    // Removes and returns the value after `flag`, if present.
    std::optional<std::string> take_optional(const std::string& flag) {
        for (size_t i = 0; i < items_.size(); ++i) {
            if (items_[i] != flag) continue;
            if (i + 1 >= items_.size())
                detail::throw_error("option ", flag, ": expected a value, found none");
            std::string value = items_[i + 1];
            items_.erase(items_.begin() + i, items_.begin() + i + 2);
            return value;
        }
        return std::nullopt;
    }

    // Removes and returns the value after `flag`, or `fallback` when absent.
    std::string take(const std::string& flag, const std::string& fallback = "") {
        return take_optional(flag).value_or(fallback);
    }

    std::string require(const std::string& flag) {
        auto value = take_optional(flag);
        if (!value) detail::throw_error("option ", flag, " is required");
        return *value;
    }

    // Removes `flag` and every value after it up to the next --option: "--embeddings a b c".
    std::vector<std::string> take_list(const std::string& flag) {
        std::vector<std::string> values;
        for (size_t i = 0; i < items_.size(); ++i) {
            if (items_[i] != flag) continue;
            size_t end = i + 1;
            while (end < items_.size() && items_[end].rfind("--", 0) != 0) values.push_back(items_[end++]);
            if (values.empty()) detail::throw_error("option ", flag, ": expected a value, found none");
            items_.erase(items_.begin() + i, items_.begin() + end);
            return values;
        }
        return values;
    }

    bool take_flag(const std::string& flag) {
        for (size_t i = 0; i < items_.size(); ++i) {
            if (items_[i] == flag) {
                items_.erase(items_.begin() + i);
                return true;
            }
        }
        return false;
    }

    // What is left once every known option was taken; an unknown --option is an error.
    std::vector<std::string> positional() const {
        for (const auto& item : items_) {
            if (item.rfind("--", 0) == 0) detail::throw_error("unknown option ", item);
        }
        return items_;
    }

private:
    std::vector<std::string> items_;
};

}  // namespace tandem::cli
