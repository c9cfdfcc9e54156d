// The sentence-transformers folder layout, read: which of the layouts a folder is
// (modules.json, v6 or an older one; a bare Hugging Face folder), its module list with
// each module's folder, and the model-wide settings of config_sentence_transformers.json
// and sentence_bert_config.json. What the modules are built into is the models' and
// infer's business; this header only says what the folder holds, with errors naming the
// file and key.
// reference: sentence_transformers.SentenceTransformer._load_sbert_model / _load_auto_model.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/io/json_file.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::io {

// The module classes tandem builds, by the last part of their Python class path: the path
// itself moved between versions (sentence_transformers.models.Pooling in v2,
// sentence_transformers.base.modules... in v6) while the class name stayed.
inline constexpr const char* kStModuleClasses[] = {"Transformer", "CLIPModel", "Pooling", "Dense",
                                                   "Normalize"};

struct StModuleEntry {
    std::size_t idx = 0;
    std::string name, type;
    std::filesystem::path dir;  // the module's folder: the root for path ""
    // The class name ending `type` ("Pooling").
    std::string class_name() const { return type.substr(type.rfind('.') + 1); }
};

// config_sentence_transformers.json: what encode and similarity take from the folder.
struct StModelConfig {
    std::map<std::string, std::string> prompts;
    std::optional<std::string> default_prompt_name;
    std::string similarity_fn_name = "cosine";
    std::optional<std::size_t> truncate_dim;
};

// sentence_bert_config.json of a Transformer module (or of the legacy CLIPModel folder).
struct StTransformerConfig {
    std::optional<std::size_t> max_seq_length;
    bool do_lower_case = false;
    // v6's processing_kwargs.text, what the tokenizer is called with: padding "max_length"
    // pads every text to the maximum length instead of the batch's longest (true,
    // "longest"), and max_length replaces the tokenizer's.
    bool pad_to_max_length = false;
    std::optional<std::size_t> text_max_length;
};

struct StFolder {
    std::filesystem::path root;
    // Empty for a bare Hugging Face folder, which sentence-transformers loads as a
    // Transformer (its mean Pooling is the loader's choice, not the folder's).
    std::vector<StModuleEntry> modules;
    StModelConfig config;

    bool is_bare() const { return modules.empty(); }
    // The folder of the Hugging Face model: module 0's, or the root of a bare folder.
    std::filesystem::path transformer_dir() const { return modules.empty() ? root : modules.front().dir; }

    static StFolder open(const std::filesystem::path& root) {
        namespace fs = std::filesystem;
        using tandem::detail::throw_error;
        if (!fs::is_directory(root)) throw_error(root.string(), ": no such model folder");
        StFolder f;
        f.root = root;
        if (fs::exists(root / "modules.json")) {
            f.modules = read_modules(root);
        } else if (!fs::exists(root / "config.json")) {
            throw_error(root.string(),
                        ": not a model folder: found neither modules.json (a sentence-transformers "
                        "folder) nor config.json (a Hugging Face folder)",
                        fs::is_directory(root / "0_CLIPModel")
                            ? "; 0_CLIPModel/ needs the modules.json beside it"
                            : "");
        }
        if (const auto path = root / "config_sentence_transformers.json"; fs::exists(path))
            f.config = read_model_config(path);
        return f;
    }

    StTransformerConfig transformer_config() const {
        const auto path = transformer_dir() / "sentence_bert_config.json";
        StTransformerConfig c;
        if (!std::filesystem::exists(path)) return c;
        const auto json = read_json_file(path);
        const JsonObjectReader r(json, path.string());
        c.max_seq_length = r.get_optional<std::size_t>("max_seq_length");
        c.do_lower_case = r.get<bool>("do_lower_case", false);
        read_processing_kwargs(r.object("processing_kwargs"), c);
        return c;
    }

private:
    // Only the text settings that change a text's tokens are applied; any other setting
    // would change the inputs too, so it is refused rather than ignored.
    static void read_processing_kwargs(const JsonObjectReader& kwargs, StTransformerConfig& c) {
        for (const auto& [key, value] : kwargs.json().items())
            if (key != "text" && !value.empty())
                kwargs.path(key).fail("not supported (tandem applies text padding and max_length), found ",
                                      value.dump());
        const auto text = kwargs.object("text");
        for (const auto& [key, value] : text.json().items()) {
            if (key == "max_length") {
                c.text_max_length = text.require<std::size_t>("max_length");
            } else if (key == "padding") {
                if (value != true && value != "longest" && value != "max_length")
                    text.path(key).fail("expected true, \"longest\" or \"max_length\", found ", value.dump());
                c.pad_to_max_length = value == "max_length";
            } else {
                text.path(key).fail("not supported (tandem applies padding and max_length), found ",
                                    value.dump());
            }
        }
    }

    static std::vector<StModuleEntry> read_modules(const std::filesystem::path& root) {
        namespace fs = std::filesystem;
        using tandem::detail::throw_error;
        const auto path = root / "modules.json";
        const auto json = read_json_file(path);
        if (!json.is_array() || json.empty())
            throw_error(path.string(), ": expected a non-empty list of modules, found ", json.dump());
        std::vector<StModuleEntry> out;
        for (std::size_t i = 0; i < json.size(); ++i) {
            const JsonObjectReader r(json[i], path.string(), "[" + std::to_string(i) + "]");
            StModuleEntry m;
            m.idx = r.get<std::size_t>("idx", i);
            m.name = r.get<std::string>("name", std::to_string(i));
            m.type = r.require<std::string>("type");
            const auto sub = r.require<std::string>("path");
            m.dir = sub.empty() ? root : root / sub;
            const auto cls = m.class_name();
            if (std::find(std::begin(kStModuleClasses), std::end(kStModuleClasses), cls) ==
                std::end(kStModuleClasses)) {
                std::string known;
                for (const char* k : kStModuleClasses) known += (known.empty() ? "" : ", ") + std::string(k);
                throw_error(r.where("type"), ": unknown module type '", m.type, "', expected one of ", known);
            }
            // Normalize has no weights and sentence-transformers may not write its folder.
            if (cls != "Normalize" && !fs::is_directory(m.dir))
                throw_error(r.where("path"), ": module folder '", m.dir.string(), "' does not exist");
            out.push_back(std::move(m));
        }
        const auto first = out.front().class_name();
        if (first != "Transformer" && first != "CLIPModel")
            throw_error(path.string(), ": module 0 is a ", first, ", expected a Transformer or CLIPModel");
        return out;
    }

    static StModelConfig read_model_config(const std::filesystem::path& path) {
        const auto json = read_json_file(path);
        const JsonObjectReader r(json, path.string());
        StModelConfig c;
        if (const auto it = json.find("prompts"); it != json.end() && !it->is_null()) {
            if (!it->is_object()) r.path("prompts").fail("expected {name: prompt}, found ", it->dump());
            for (const auto& [name, prompt] : it->items()) {
                if (!prompt.is_string())
                    r.path("prompts").fail("prompt '", name, "': expected a string, found ", prompt.dump());
                c.prompts[name] = prompt.get<std::string>();
            }
        }
        c.default_prompt_name = r.get_optional<std::string>("default_prompt_name");
        if (c.default_prompt_name && !c.prompts.count(*c.default_prompt_name))
            r.path("default_prompt_name")
                .fail("names prompt '", *c.default_prompt_name, "', which 'prompts' lacks");
        c.similarity_fn_name = r.get_optional<std::string>("similarity_fn_name").value_or("cosine");
        c.truncate_dim = r.get_optional<std::size_t>("truncate_dim");
        return c;
    }
};

}  // namespace tandem::io
