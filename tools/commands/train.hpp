// `tandem train --config train.json`: trains an embedding model as sentence-transformers'
// SentenceTransformerTrainer does, from one JSON file whose keys are the trainer's
// arguments under their Python names:
//   model          a sentence-transformers or Hugging Face folder, or a CLIPModel from
//                  scratch: {"architecture": "CLIPModel", "config": {CLIPConfig},
//                  "tokenizer": FILE or FOLDER, "image_processor": FILE or {...}, "seed": N}
//   train_dataset  a .jsonl, .csv or .tsv file; {"path": FILE, "columns": [...],
//                  "image_columns": [...], "text_columns": [...]}; or {name: such, ...}
//   eval_dataset   the same (optional): eval_loss at each evaluation
//   loss           NAME or {"name": NAME, "args": {...}} (the loss's constructor arguments,
//                  "guide": FOLDER for GISTEmbedLoss), or {dataset name: such, ...}
//   args           SentenceTransformerTrainingArguments
//   evaluator      {"name": EVALUATOR, "args": {...}, "texts": {KEY: FILE}, "images":
//                  {KEY: FILE}, "data": FILE or {...}}: an evaluator of `tandem evaluate` on the
//                  model being trained (optional)
// Relative paths are relative to the config file. `mpirun -np N tandem train --distributed`
// trains data parallel over N processes (a tandem built with -Dmpi=true). Writes what the
// trainer writes (output_dir/checkpoint-N, trainer_state.json), then output_dir/final (the
// trained model as a sentence-transformers folder with its model card),
// output_dir/metrics.json and output_dir/report.html.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/models/clip_init.hpp>
#include <tandem/train/trainer.hpp>
#ifdef TANDEM_MPI
#include <tandem/dist/mpi.hpp>
#endif

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "evaluate.hpp"
#include "loss.hpp"
#include "report.hpp"
#include "validators.hpp"

namespace tandem::cli {

struct TrainCommandOptions {
    std::filesystem::path config;
    int threads = 0;
    bool distributed = false;
};

namespace train_cmd {

namespace fs = std::filesystem;
using detail::JsonPath;
using nlohmann::json;
using nlohmann::ordered_json;
using Model = AnyEmbeddingModel<Cpu, float>;
using Encoder = SentenceTransformer<Cpu>;
// The losses that train through different paths of the trainer; every loss over
// embeddings is the first.
using Loss = std::variant<AnyEmbeddingLoss<Cpu, float>, CachedMultipleNegativesRankingLoss<Cpu, float>,
                          GISTEmbedLoss<Cpu, float>, CachedGISTEmbedLoss<Cpu, float>,
                          loss_cmd::LayerwiseLossFunction<float>>;

// The config file: its keys in the order written (datasets and learning_rate_mapping keep
// it, as a Python dict does), and where relative paths start.
struct Config {
    fs::path file, base;
    ordered_json j;

    JsonPath at(const std::string& key) const { return JsonPath{file.string(), key}; }
    fs::path resolve(const ordered_json& value, const JsonPath& where) const {
        if (!value.is_string()) where.fail("expected a path, found ", detail::describe_json(value));
        const fs::path p = value.get<std::string>();
        return p.is_absolute() ? p : base / p;
    }
};

inline void check_keys(const ordered_json& object, const JsonPath& at, const std::set<std::string>& known) {
    for (const auto& [key, value] : object.items())
        if (!known.count(key)) {
            std::string names;
            for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
            (at / key).fail("unknown key; expected one of ", names);
        }
}

inline Config read_config(const fs::path& file) {
    std::ifstream in(file);
    if (!in) detail::throw_error(file.string(), ": cannot open");
    Config c{file, file.parent_path(), {}};
    try {
        c.j = ordered_json::parse(in);
    } catch (const json::exception& e) {
        detail::throw_error(file.string(), ": not valid JSON (", e.what(), ")");
    }
    if (!c.j.is_object())
        detail::throw_error(file.string(), ": expected a JSON object, found ", c.j.type_name());
    check_keys(c.j, c.at(""), {"model", "train_dataset", "eval_dataset", "loss", "args", "evaluator"});
    for (const char* key : {"model", "train_dataset", "loss"})
        if (!c.j.contains(key)) c.at(key).fail("required key is missing");
    return c;
}

// A CLIPModel drawn as transformers initialises one, with its tokenizer and image processor.
inline Encoder clip_from_scratch(const Config& c, const ordered_json& spec, const JsonPath& at) {
    check_keys(spec, at,
               {"architecture", "config", "tokenizer", "image_processor", "max_seq_length", "seed"});
    for (const char* key : {"config", "tokenizer", "image_processor"})
        if (!spec.contains(key)) (at / key).fail("required key is missing");
    // CLIPConfig(**config) as in Python: model_type goes without saying.
    json config_json(spec["config"]);
    if (config_json.is_object() && !config_json.contains("model_type")) config_json["model_type"] = "clip";
    const auto config = io::CLIPConfig::from_json(config_json, (at / "config").where());
    const auto tokenizer_path = c.resolve(spec["tokenizer"], at / "tokenizer");
    auto tokenizer = fs::is_directory(tokenizer_path) ? Tokenizer::from_folder(tokenizer_path)
                                                      : Tokenizer::from_file(tokenizer_path);
    const auto vocab = static_cast<std::int64_t>(tokenizer.model().vocab_size());
    if (vocab > config.text_config.vocab_size)
        (at / "config.text_config.vocab_size")
            .fail("the tokenizer has ", vocab, " tokens, more than the ", config.text_config.vocab_size,
                  " embeddings the text model would have");
    const auto& processor = spec["image_processor"];
    auto image_processor =
        processor.is_object()
            ? image::ImageProcessor::from_json(json(processor), (at / "image_processor").where())
            : image::ImageProcessor::from_file(c.resolve(processor, at / "image_processor"));
    const auto positions = static_cast<std::size_t>(config.text_config.max_position_embeddings);
    const json settings(spec);
    const detail::JsonObjectReader r(settings, at.file, at.key);
    const auto max_length = r.get<std::size_t>("max_seq_length", positions);
    if (max_length < 2 || max_length > positions)
        r.path("max_seq_length")
            .fail("expected 2 to max_position_embeddings (", positions, "), found ", max_length);
    CLIPModel<Cpu, float> model(config);
    init_clip_weights(model, r.get<std::uint64_t>("seed", 42));
    data::CollatorOptions options;
    options.max_length = max_length;
    return Encoder(Model(std::move(model), "CLIPModel"),
                   data::Collator(std::move(tokenizer), std::move(image_processor), options));
}

inline Encoder start_model(const Config& c) {
    const auto& spec = c.j["model"];
    const auto at = c.at("model");
    if (spec.is_string()) return Encoder::load(c.resolve(spec, at));
    if (!spec.is_object() || !spec.contains("architecture"))
        at.fail(
            "expected a model folder, or {\"architecture\": \"CLIPModel\", \"config\": {...}, \"tokenizer\": "
            "FILE, \"image_processor\": ...}, found ",
            detail::describe_json(json(spec)));
    const auto& architecture = spec["architecture"];
    if (architecture != "CLIPModel")
        (at / "architecture")
            .fail(
                "expected CLIPModel (trained from scratch; other architectures start from a folder), found ",
                detail::describe_json(json(architecture)));
    return clip_from_scratch(c, spec, at);
}

inline data::Dataset read_dataset(const Config& c, const ordered_json& spec, const JsonPath& at) {
    ordered_json object = spec.is_string() ? ordered_json{{"path", spec}} : spec;
    if (!object.is_object() || !object.contains("path"))
        at.fail("expected a data file or {\"path\": FILE, \"columns\": [...]}, found ",
                detail::describe_json(json(spec)));
    check_keys(object, at, {"path", "columns", "image_columns", "text_columns"});
    const json fields(object);
    const detail::JsonObjectReader r(fields, at.file, at.key);
    auto strings = [&](const char* key) {
        std::vector<std::string> out;
        if (!object.contains(key)) return out;
        if (!object[key].is_array()) r.path(key).fail("expected a list of column names");
        for (std::size_t i = 0; i < object[key].size(); ++i)
            out.push_back(detail::json_as<std::string>(json(object[key][i]), r.path(key)[i]));
        return out;
    };
    const fs::path path = c.resolve(object["path"], at / "path");
    data::CsvOptions options;
    options.image_columns = strings("image_columns");
    options.text_columns = strings("text_columns");
    const auto ext = path.extension().string();
    data::Dataset d;
    if (ext == ".jsonl" || ext == ".json")
        d = data::read_jsonl(path, options);
    else if (ext == ".csv")
        d = data::read_csv(path, options);
    else if (ext == ".tsv")
        d = data::read_tsv(path, options);
    else
        (at / "path").fail("expected a .jsonl, .json, .csv or .tsv file, found '", path.string(), "'");
    if (const auto columns = strings("columns"); !columns.empty()) {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (!d.has_column(columns[i])) {
                std::string names;
                for (const auto& n : d.column_names()) names += (names.empty() ? "'" : ", '") + n + "'";
                r.path("columns")[i].fail("no column '", columns[i], "' in ", path.string(), "; it has ",
                                          names);
            }
        d = d.select_columns(columns);
    }
    return d;
}

// One dataset, or a dict of them by name: an object of dataset specs without "path".
inline data::DatasetDict read_datasets(const Config& c, const std::string& key) {
    const auto& spec = c.j[key];
    const auto at = c.at(key);
    if (spec.is_object() && !spec.contains("path") && !spec.empty()) {
        data::DatasetDict out;
        for (const auto& [name, d] : spec.items()) out.insert(name, read_dataset(c, d, at.entry(name)));
        return out;
    }
    return data::DatasetDict{{"", read_dataset(c, spec, at)}};
}

inline const std::map<std::string, std::string> not_offered = {
    {"ContrastiveTensionLoss", "it encodes its first column with a second copy of the model"},
    {"ContrastiveTensionLossInBatchNegatives",
     "it encodes its first column with a second copy of the model"}};

// The loss a spec names, over `model` (CLIPLoss and SigLIPLoss train the model's own
// logit_scale and logit_bias where it has them, as CLIPModel's return_loss does). A
// guided loss's guide model is loaded into `guide`.
inline Loss make_loss(const Config& c, const ordered_json& spec, const JsonPath& at, const Model& model,
                      std::optional<Encoder>& guide) {
    if (!spec.is_string() && !(spec.is_object() && spec.contains("name") && spec["name"].is_string()))
        at.fail("expected a loss name or {\"name\": LOSS, \"args\": {...}}, found ",
                detail::describe_json(json(spec)));
    if (spec.is_object()) check_keys(spec, at, {"name", "args"});
    const std::string name = spec.is_string() ? spec.get<std::string>() : spec["name"].get<std::string>();
    json args = spec.is_object() && spec.contains("args") ? json(spec["args"]) : json::object();
    const loss_cmd::ArgsSource source((at / "args").where());
    if (!args.is_object()) (at / "args").fail("expected a JSON object, found ", detail::describe_json(args));
    if (const auto it = not_offered.find(name); it != not_offered.end())
        (at / "name").fail(name, " is not offered by tandem train: ", it->second);

    auto& store = model.parameters();
    if (name == "CLIPLoss") {
        const auto options = loss_cmd::clip_loss_options(args);
        return store.contains("logit_scale")
                   ? AnyEmbeddingLoss<Cpu, float>(CLIPLoss<Cpu, float>(store, options))
                   : AnyEmbeddingLoss<Cpu, float>(CLIPLoss<Cpu, float>(options));
    }
    if (name == "SigLIPLoss") {
        const auto options = loss_cmd::siglip_loss_options(args);
        return store.contains("logit_scale") && store.contains("logit_bias")
                   ? AnyEmbeddingLoss<Cpu, float>(SigLIPLoss<Cpu, float>(store, options))
                   : AnyEmbeddingLoss<Cpu, float>(SigLIPLoss<Cpu, float>(options));
    }
    if (name == "SoftmaxLoss")
        return AnyEmbeddingLoss<Cpu, float>(SoftmaxLoss<Cpu, float>(loss_cmd::softmax_loss_options(args)));
    if (name == "CachedMultipleNegativesRankingLoss") return loss_cmd::cached_mnrl_loss<float>(args);
    if (name == "MegaBatchMarginLoss")
        return AnyEmbeddingLoss<Cpu, float>(loss_cmd::mega_batch_margin_loss<float>(args));
    if (name == "GISTEmbedLoss" || name == "CachedGISTEmbedLoss") {
        if (!args.contains("guide"))
            (at / "args.guide").fail(name, " needs a guide model: a folder whose model shares the tokenizer");
        guide.emplace(Encoder::load(c.resolve(spec["args"]["guide"], at / "args.guide")));
        args.erase("guide");
        if (name == "CachedGISTEmbedLoss") return loss_cmd::cached_gist_loss<float>(args);
        return GISTEmbedLoss<Cpu, float>(
            loss_cmd::gist_options(loss_cmd::JsonArgs(name, args, loss_cmd::gist_args)));
    }
    if (auto loss = loss_cmd::make_layerwise_loss<float>(name, args)) return std::move(*loss);
    for (const auto& make : {loss_cmd::make_in_batch_loss<float>, loss_cmd::make_distill_loss<float>,
                             loss_cmd::make_pair_loss<float>, loss_cmd::make_triplet_loss<float>,
                             loss_cmd::make_wrapper_loss<float>})
        if (auto loss = make(name, args)) return std::move(*loss);
    std::string names =
        "CLIPLoss, SigLIPLoss, SoftmaxLoss, CachedMultipleNegativesRankingLoss, "
        "MegaBatchMarginLoss, GISTEmbedLoss, CachedGISTEmbedLoss";
    for (const auto* family : {&loss_cmd::distill_loss_names, &loss_cmd::pair_loss_names,
                               &loss_cmd::triplet_loss_names, &loss_cmd::wrapper_loss_names})
        for (const auto& n : *family) names += ", " + n;
    (at / "name")
        .fail("unknown loss '", name,
              "'; expected MultipleNegativesRankingLoss, MultipleNegativesSymmetricRankingLoss, ", names);
}

// Texts and images the evaluator encodes with the model as it trains, and its other inputs.
struct EvaluatorSpec {
    std::string name;
    json args = json::object();
    std::vector<std::pair<std::string, std::string>> encoded;  // (--texts or --images, KEY=FILE)
    json data = json::object();
};

inline std::optional<EvaluatorSpec> read_evaluator(const Config& c) {
    if (!c.j.contains("evaluator")) return std::nullopt;
    const auto& spec = c.j["evaluator"];
    const auto at = c.at("evaluator");
    if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string())
        at.fail("expected {\"name\": EVALUATOR, \"args\": {...}, \"texts\": {KEY: FILE}, ...}, found ",
                detail::describe_json(json(spec)));
    check_keys(spec, at, {"name", "args", "texts", "images", "data"});
    EvaluatorSpec e{spec["name"].get<std::string>()};
    if (spec.contains("args")) e.args = json(spec["args"]);
    for (const auto& [key, option] : {std::pair{"texts", "--texts"}, std::pair{"images", "--images"}}) {
        if (!spec.contains(key)) continue;
        if (!spec[key].is_object()) (at / key).fail("expected {KEY: FILE, ...}");
        for (const auto& [k, file] : spec[key].items())
            e.encoded.emplace_back(option, k + "=" + c.resolve(file, (at / key).entry(k)).string());
    }
    if (spec.contains("data") && spec["data"].is_object()) {
        e.data = json(spec["data"]);
    } else if (spec.contains("data")) {
        const auto path = c.resolve(spec["data"], at / "data");
        e.data = io::read_json_file(path);
        if (!e.data.is_object())
            detail::throw_error(path.string(), ": expected a JSON object, found ",
                                detail::describe_json(e.data));
    }
    if (e.encoded.empty()) at.fail("needs \"texts\" or \"images\" to encode with the model");
    return e;
}

inline Metrics evaluate(const EvaluatorSpec& e, const Encoder& model, const fs::path& out) {
    evaluate_cmd::Inputs in;
    in.data = e.data;
    for (const auto& [option, spec] : e.encoded) evaluate_cmd::add_encoded(in, model, option, spec);
    fs::create_directories(out);
    return evaluate_cmd::run(e.name, e.args, in, {.output_path = out}).metrics;
}

struct Trained {
    TrainOutput output;
    nlohmann::json log_history;
};

template <class L>
Trained train_with(Model& model, const SentenceTransformerTrainingArguments& args, data::DatasetDict train,
                   std::map<std::string, Loss>& losses, const data::Collator& collator,
                   TrainerOptions<Model> options) {
    std::map<std::string, L> typed;
    for (auto& [name, loss] : losses) typed.emplace(name, std::get<L>(std::move(loss)));
    auto trainer =
        typed.size() == 1 && typed.begin()->first.empty()
            ? SentenceTransformerTrainer(model, args, std::move(train), std::move(typed.begin()->second),
                                         collator, std::move(options))
            : SentenceTransformerTrainer(model, args, std::move(train), std::move(typed), collator,
                                         std::move(options));
    auto output = trainer.train();
    return {std::move(output), trainer.state().log_history};
}

// One process's part of the run; `distributed` is null for a run in one process.
inline int train(const TrainCommandOptions& o, dist::Communicator* distributed) {
    if (o.threads > 0) set_num_threads(o.threads);
    const auto c = read_config(o.config);
    const auto start = start_model(c);
    Model model = start.model();

    auto args = SentenceTransformerTrainingArguments::from_json(
        c.j.contains("args") ? json(c.j["args"]) : json::object(), c.at("args").where());
    if (c.j.contains("args") && c.j["args"].contains("learning_rate_mapping")) {
        args.learning_rate_mapping.clear();
        for (const auto& [pattern, lr] : c.j["args"]["learning_rate_mapping"].items())
            args.learning_rate_mapping.emplace_back(pattern, lr.get<double>());
    }
    if (!fs::path(args.output_dir).is_absolute()) args.output_dir = (c.base / args.output_dir).string();
    const fs::path out = args.output_dir;

    const auto train = read_datasets(c, "train_dataset");
    std::optional<data::DatasetDict> eval_dataset;
    if (c.j.contains("eval_dataset")) eval_dataset = read_datasets(c, "eval_dataset");

    // One loss for every dataset, or one per dataset by name.
    std::optional<Encoder> guide;
    std::map<std::string, Loss> losses;
    const auto& loss_spec = c.j["loss"];
    if (loss_spec.is_object() && !loss_spec.contains("name")) {
        for (const auto& [name, spec] : loss_spec.items()) {
            losses.emplace(name, make_loss(c, spec, c.at("loss").entry(name), model, guide));
            if (!std::holds_alternative<AnyEmbeddingLoss<Cpu, float>>(losses.at(name)))
                c.at("loss").entry(name).fail(
                    "a loss per dataset must be a loss over embeddings; a cached or "
                    "guided loss trains alone");
        }
    } else {
        losses.emplace("", make_loss(c, loss_spec, c.at("loss"), model, guide));
    }
    std::string loss_name;
    for (const auto& [name, loss] : losses)
        loss_name += (loss_name.empty() ? "" : ", ") + std::visit(
                                                           [](const auto& l) {
                                                               if constexpr (requires { l.name(); })
                                                                   return std::string(l.name());
                                                               else
                                                                   return std::string(l.name);
                                                           },
                                                           loss);

    const auto evaluator = read_evaluator(c);
    TrainerOptions<Model> options;
    options.eval_dataset = eval_dataset;
    if (evaluator) options.evaluator = [&] { return evaluate(*evaluator, start, out / "eval"); };
    if (guide) options.guide = guide_encoder(guide->model());
    options.distributed = distributed;

    const auto trained = std::visit(
        [&](const auto& first) {
            using L = std::remove_cvref_t<decltype(first)>;
            return train_with<L>(model, args, train, losses, start.collator(), std::move(options));
        },
        losses.begin()->second);
    // Rank 0 evaluates and writes; every rank holds the same weights.
    if (distributed && !distributed->is_main_process()) return 0;

    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, v] : trained.output.metrics) metrics[k] = v;
    metrics["global_step"] = trained.output.global_step;
    ModelCardData card;
    if (evaluator)
        for (const auto& [k, v] : evaluate(*evaluator, start, out / "eval")) {
            metrics["eval_" + k] = v;
            card.metrics[k] = v;
        }
    card.model_name = model.name() + " trained with " + loss_name;
    for (const auto& name : train.names()) card.train_datasets.push_back(name);
    card.train_samples = train.total_rows();
    card.loss = loss_name;
    start.save(out / "final", card);
    detail::write_json_file(out / "metrics.json", metrics);
    report::write_html(out / "report.html", {.title = "tandem train: " + card.model_name.value(),
                                             .metrics = metrics,
                                             .log_history = trained.log_history});
    std::printf("%s\n", metrics.dump(2).c_str());
    return 0;
}

inline int run(const TrainCommandOptions& o) {
    if (!o.distributed) return train(o, nullptr);
#ifdef TANDEM_MPI
    int argc = 0;
    char** argv = nullptr;
    return dist::run_mpi(argc, argv, [&](dist::MpiCommunicator& comm) { return train(o, &comm); });
#else
    detail::throw_error("option --distributed: this tandem was built without MPI (meson -Dmpi=true)");
#endif
}

}  // namespace train_cmd

inline void add_train(CLI::App& app, int& status) {
    auto o = std::make_shared<TrainCommandOptions>();
    CLI::App* sub = app.add_subcommand(
        "train", "train an embedding model from a JSON config: model, datasets, loss, training arguments");
    sub->add_option("--config", o->config,
                    "train.json: model, train_dataset, eval_dataset, loss, args (SentenceTransformerTraining"
                    "Arguments) and evaluator, under the Python API's names")
        ->required();
    sub->add_option("--threads", o->threads, "threads (default: OpenMP's)")->check(integer_at_least(1));
    sub->add_flag("--distributed", o->distributed,
                  "data parallel over the ranks mpirun started (a build with -Dmpi=true): each step takes "
                  "per_device_train_batch_size rows per rank, contrastive losses see the whole global batch");
    sub->footer(
        "Writes what the trainer writes to args.output_dir (checkpoints, trainer_state.json), then "
        "output_dir/final (the model as a sentence-transformers folder), metrics.json and report.html. "
        "Samples: examples/train/.");
    sub->callback([o, &status] { status = train_cmd::run(*o); });
}

}  // namespace tandem::cli
