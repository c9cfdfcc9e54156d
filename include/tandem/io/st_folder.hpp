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
#include <utility>
#include <vector>

namespace tandem::io {

// The module classes tandem builds, by the last part of their Python class path: the path
// itself moved between versions (sentence_transformers.models.Pooling in v2,
// sentence_transformers.base.modules... in v6) while the class name stayed.
inline constexpr const char* kStModuleClasses[] = {"Transformer", "CLIPModel", "Router",
                                                   "Pooling",     "Dense",     "Normalize"};

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
    // The file that lists the modules: modules.json, or router_config.json for one of a
    // Router's routes.
    std::filesystem::path modules_file;
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
        f.modules_file = root / "modules.json";
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

    // The routes of the Router that is module 0, by name: each a folder whose modules are the route's, in the
    // Router's sub-folders.
    std::vector<std::pair<std::string, StFolder>> routes() const {
        using tandem::detail::throw_error;
        const auto path = transformer_dir() / "router_config.json";
        const auto json = read_json_file(path);
        const JsonObjectReader r(json, path.string());
        for (const char* key : {"types", "structure"})
            if (!json.contains(key)) r.path(key).fail("required key is missing");
        const auto types = r.object("types"), structure = r.object("structure"),
                   parameters = r.object("parameters");
        // Routes are chosen by modality; a mapping from (task, modality) would choose otherwise.
        if (const auto it = parameters.json().find("route_mappings");
            it != parameters.json().end() && !it->empty())
            parameters.path("route_mappings")
                .fail("not supported (tandem routes texts to \"text\" and images to \"image\"), found ",
                      it->dump());
        std::vector<std::pair<std::string, StFolder>> out;
        for (const auto& [route, ids] : structure.json().items()) {
            if (!ids.is_array() || ids.empty())
                structure.path(route).fail("expected a non-empty list of module ids, found ", ids.dump());
            StFolder f;
            f.root = transformer_dir();
            f.modules_file = path;
            f.config = config;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                const auto where = route + "[" + std::to_string(i) + "]";
                if (!ids[i].is_string())
                    structure.path(where).fail("expected a module id, found ", ids[i].dump());
                const auto id = ids[i].get<std::string>();
                if (!types.json().contains(id))
                    structure.path(where).fail("module '", id, "' is not in 'types'");
                StModuleEntry m;
                m.idx = i;
                m.name = std::to_string(i);
                m.type = types.require<std::string>(id);
                m.dir = f.root / id;
                check_module(m, types.where(id));
                f.modules.push_back(std::move(m));
            }
            out.emplace_back(route, std::move(f));
        }
        return out;
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
            check_module(m, r.where("type"), r.where("path"));
            out.push_back(std::move(m));
        }
        const auto first = out.front().class_name();
        if (first != "Transformer" && first != "CLIPModel" && first != "Router")
            throw_error(path.string(), ": module 0 is a ", first,
                        ", expected a Transformer, CLIPModel or Router");
        return out;
    }

    // A known class, and the module's folder. `type_key` and `dir_key` name where the
    // type and the folder were read (one key in router_config.json, where the id is both).
    static void check_module(const StModuleEntry& m, const std::string& type_key, std::string dir_key = {}) {
        using tandem::detail::throw_error;
        if (dir_key.empty()) dir_key = type_key;
        const auto cls = m.class_name();
        if (std::find(std::begin(kStModuleClasses), std::end(kStModuleClasses), cls) ==
            std::end(kStModuleClasses)) {
            std::string known;
            for (const char* k : kStModuleClasses) known += (known.empty() ? "" : ", ") + std::string(k);
            throw_error(type_key, ": unknown module type '", m.type, "', expected one of ", known);
        }
        // Normalize has no weights and sentence-transformers may not write its folder.
        if (cls != "Normalize" && !std::filesystem::is_directory(m.dir))
            throw_error(dir_key, ": module folder '", m.dir.string(), "' does not exist");
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
