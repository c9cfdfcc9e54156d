// `tandem evaluate --evaluator NAME [--args JSON] --embeddings KEY=FILE.npy ...
// [--data FILE.json] --out DIR`: runs one evaluator of include/tandem/eval/ on embeddings
// saved as .npy (float32 or float64; scores and labels as 1-D arrays) and writes
// DIR/metrics.json (sentence-transformers v6 names) and the evaluator's CSV, so any
// evaluator can be checked against the Python original on the same embeddings. With
// --model DIR, inputs may be texts or image paths instead (--texts KEY=FILE,
// --images KEY=FILE, one per line), encoded by the model as evaluator(model) encodes
// them: queries with encode_query, the corpus with encode_document.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/eval.hpp>
#include <tandem/infer/sentence_transformer.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/io/npy.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "encode.hpp"

namespace tandem::cli {

namespace evaluate_cmd {

const std::set<std::string> matrix_keys = {"queries",   "corpus",    "embeddings1", "embeddings2", "anchors",
                                           "positives", "negatives", "images",      "prompts"};

struct Inputs {
    eval::EmbeddingSet embeddings;
    std::map<std::string, std::vector<double>> vectors;  // scores, labels
    nlohmann::json data = nlohmann::json::object();
};

inline std::string known_keys() {
    std::string s;
    for (const auto& k : matrix_keys) s += k + ", ";
    return s + "scores, labels";
}

// KEY and FILE of an option's KEY=FILE, the key not given before.
inline std::pair<std::string, std::filesystem::path> key_and_file(const Inputs& in, const std::string& option,
                                                                  const std::string& spec, const char* file) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        detail::throw_error("option ", option, ": expected KEY=", file, ", found '", spec, "'");
    const std::string key = spec.substr(0, eq);
    if (in.embeddings.count(key) || in.vectors.count(key))
        detail::throw_error("option ", option, ": key '", key, "' given twice");
    return {key, spec.substr(eq + 1)};
}

inline void add_embeddings(Inputs& in, const std::string& spec) {
    const auto [key, file] = key_and_file(in, "--embeddings", spec, "FILE.npy");
    // Any float, integer or bool .npy, widened to double.
    const auto array = io::load_npy<double>(file);
    if (key == "scores" || key == "labels") {
        if (array.dimension() != 1)
            detail::throw_error(file.string(), ": ", key, ": expected a 1-D array, found ", array.dimension(),
                                " dimensions");
        in.vectors[key] = std::vector<double>(array.begin(), array.end());
    } else if (matrix_keys.count(key)) {
        if (array.dimension() != 2)
            detail::throw_error(file.string(), ": ", key, ": expected a 2-D array [rows, dim], found ",
                                array.dimension(), " dimensions");
        in.embeddings[key] = xt::xtensor<double, 2>(array);
    } else {
        detail::throw_error("option --embeddings: unknown key '", key, "', expected one of ", known_keys());
    }
}

// --texts / --images KEY=FILE: the file's lines (texts, or image paths) encoded by `model`.
inline void add_encoded(Inputs& in, const SentenceTransformer<Cpu>& model, const std::string& option,
                        const std::string& spec) {
    const auto [key, file] = key_and_file(in, option, spec, "FILE");
    if (!matrix_keys.count(key))
        detail::throw_error("option ", option, ": unknown key '", key, "', expected one of ", known_keys());
    const auto lines = read_lines(file);
    xt::xtensor<float, 2> e;
    if (option == "--images")
        e = model.encode(std::vector<std::filesystem::path>(lines.begin(), lines.end()));
    else if (key == "queries")
        e = model.encode_query(lines);
    else if (key == "corpus")
        e = model.encode_document(lines);
    else
        e = model.encode(lines);
    in.embeddings[key] = xt::cast<double>(e);
}

// The constructor arguments an evaluator reads from --args, by their Python names;
// anything else is an error. batch_size and show_progress_bar only steer encoding, which
// is done already, so they are accepted and have no effect.
inline void check_args(const nlohmann::json& args, const std::string& evaluator,
                       std::set<std::string> allowed) {
    allowed.insert({"batch_size", "show_progress_bar"});
    for (const auto& [key, value] : args.items())
        if (!allowed.count(key)) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            detail::throw_error("--args: ", evaluator, " has no argument '", key, "'; it takes ", list);
        }
}

template <class T>
std::vector<T> list_of(const io::JsonObjectReader& r, const std::string& key, std::vector<T> fallback) {
    if (!r.contains(key) || r.json().at(key).is_null()) return fallback;
    const auto& v = r.json().at(key);
    if (!v.is_array())
        detail::throw_error(r.where(key), ": expected a list, found ", detail::describe_json(v));
    std::vector<T> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(detail::json_as<T>(v[i], r.path(key)[i]));
    return out;
}

inline std::optional<std::size_t> truncate_dim(const io::JsonObjectReader& r) {
    return r.get_optional<std::size_t>("truncate_dim");
}

// scores or labels: from --embeddings KEY=FILE.npy or from --data.
inline std::vector<double> vector_input(const Inputs& in, const std::string& key,
                                        const std::string& evaluator) {
    if (auto it = in.vectors.find(key); it != in.vectors.end()) return it->second;
    if (in.data.contains(key)) {
        const io::JsonObjectReader data(in.data, "--data");
        return list_of<double>(data, key, {});
    }
    detail::throw_error(evaluator, ": expected '", key, "' (--embeddings ", key,
                        "=FILE.npy or a list in --data), ", "found neither");
}

inline std::vector<int> binary_labels(const std::vector<double>& v) {
    std::vector<int> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] != 0 && v[i] != 1)
            detail::throw_error("BinaryClassificationEvaluator: labels[", i, "]: expected 0 or 1, found ",
                                v[i]);
        out.push_back(static_cast<int>(v[i]));
    }
    return out;
}

inline std::vector<std::string> string_list(const nlohmann::json& data, const std::string& key) {
    const io::JsonObjectReader r(data, "--data");
    if (!r.contains(key)) detail::throw_error("--data: key '", key, "': required key is missing");
    return list_of<std::string>(r, key, {});
}

// An evaluator's metrics and the name of the one that stands for it (SequentialEvaluator's scores).
struct Result {
    eval::Metrics metrics;
    std::string primary_metric;
};

template <eval::Evaluator E>
Result evaluate_with(E& e, const Inputs& in, const eval::EvalContext& context) {
    auto metrics = e(in.embeddings, context);
    return {std::move(metrics), e.primary_metric()};
}

inline Result run(const std::string& name, const nlohmann::json& args_json, const Inputs& in,
                  const eval::EvalContext& context);

// SequentialEvaluator over evaluators given as [{"name": ..., "args": {...}}, ...]: each
// reads the same inputs. main_score_function: "last" (Python's default, scores[-1]) or "mean".
inline Result run_sequential(const nlohmann::json& args_json, const Inputs& in,
                             const eval::EvalContext& context) {
    check_args(args_json, "SequentialEvaluator", {"evaluators", "main_score_function"});
    const io::JsonObjectReader args(args_json, "--args");
    if (!args.contains("evaluators") || !args.json().at("evaluators").is_array() ||
        args.json().at("evaluators").empty())
        args.path("evaluators").fail("expected a non-empty list of {\"name\": ..., \"args\": {...}}");
    const auto main = args.get<std::string>("main_score_function", "last");
    if (main != "last" && main != "mean")
        args.path("main_score_function").fail("expected \"last\" or \"mean\", found \"", main, "\"");
    Result out;
    std::vector<double> scores;
    const auto& list = args.json().at("evaluators");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const io::JsonObjectReader part(list[i], "--args", "evaluators[" + std::to_string(i) + "]");
        const auto name = part.require<std::string>("name");
        if (name == "SequentialEvaluator")
            part.path("name").fail("a SequentialEvaluator cannot nest another");
        const auto r =
            run(name, part.contains("args") ? part.json().at("args") : nlohmann::json::object(), in, context);
        // A metric of the same name from a later evaluator wins, as in Python's dict merge.
        for (const auto& [k, v] : r.metrics) out.metrics[k] = v;
        scores.push_back(r.metrics.at(r.primary_metric));
    }
    double score = scores.back();
    if (main == "mean") {
        score = 0;
        for (double s : scores) score += s / double(scores.size());
    }
    out.metrics["sequential_score"] = score;
    out.primary_metric = "sequential_score";
    return out;
}

inline Result run(const std::string& name, const nlohmann::json& args_json, const Inputs& in,
                  const eval::EvalContext& context) {
    if (name == "SequentialEvaluator") return run_sequential(args_json, in, context);
    if (!args_json.is_object())
        detail::throw_error(name, " --args: expected a JSON object, found ",
                            detail::describe_json(args_json));
    const io::JsonObjectReader args(args_json, "--args");
    if (name == "InformationRetrievalEvaluator") {
        check_args(
            args_json, name,
            {"corpus_chunk_size", "mrr_at_k", "ndcg_at_k", "accuracy_at_k", "precision_recall_at_k",
             "map_at_k", "name", "write_csv", "truncate_dim", "score_functions", "main_score_function"});
        eval::InformationRetrievalOptions o;
        o.corpus_chunk_size = args.get<std::size_t>("corpus_chunk_size", o.corpus_chunk_size);
        o.mrr_at_k = list_of<int>(args, "mrr_at_k", o.mrr_at_k);
        o.ndcg_at_k = list_of<int>(args, "ndcg_at_k", o.ndcg_at_k);
        o.accuracy_at_k = list_of<int>(args, "accuracy_at_k", o.accuracy_at_k);
        o.precision_recall_at_k = list_of<int>(args, "precision_recall_at_k", o.precision_recall_at_k);
        o.map_at_k = list_of<int>(args, "map_at_k", o.map_at_k);
        o.name = args.get<std::string>("name", "");
        o.write_csv = args.get<bool>("write_csv", true);
        o.truncate_dim = truncate_dim(args);
        // Python's score_functions is a dict of name to function: here a list of names, or
        // a dict whose values name the function ("cos_sim", "dot_score").
        if (args.contains("score_functions") && args.json().at("score_functions").is_object()) {
            o.score_functions.clear();
            for (const auto& [k, v] : args.json().at("score_functions").items()) {
                eval::similarity_from_name(
                    detail::json_as<std::string>(v, args.path("score_functions").entry(k)), name);
                o.score_functions.push_back(k);
            }
        } else {
            o.score_functions = list_of<std::string>(args, "score_functions", o.score_functions);
        }
        o.main_score_function = args.get_optional<std::string>("main_score_function");
        std::map<std::string, std::set<std::string>> relevant;
        const io::JsonObjectReader data(in.data, "--data");
        const auto docs = data.object("relevant_docs");
        if (!data.contains("relevant_docs"))
            detail::throw_error("--data: key 'relevant_docs': required key is missing");
        for (const auto& [q, ids] : docs.json().items()) {
            const auto list = list_of<std::string>(docs, q, {});
            relevant[q] = std::set<std::string>(list.begin(), list.end());
        }
        eval::InformationRetrievalEvaluator e(string_list(in.data, "query_ids"),
                                              string_list(in.data, "corpus_ids"), relevant, o);
        return evaluate_with(e, in, context);
    }
    if (name == "EmbeddingSimilarityEvaluator") {
        check_args(
            args_json, name,
            {"main_similarity", "similarity_fn_names", "name", "write_csv", "precision", "truncate_dim"});
        eval::EmbeddingSimilarityOptions o;
        o.main_similarity = args.get_optional<std::string>("main_similarity");
        o.similarity_fn_names = list_of<std::string>(args, "similarity_fn_names", {});
        o.name = args.get<std::string>("name", "");
        o.write_csv = args.get<bool>("write_csv", true);
        o.precision = args.get_optional<std::string>("precision");
        o.truncate_dim = truncate_dim(args);
        eval::EmbeddingSimilarityEvaluator e(vector_input(in, "scores", name), o);
        return evaluate_with(e, in, context);
    }
    if (name == "TripletEvaluator") {
        check_args(args_json, name,
                   {"main_similarity_function", "margin", "name", "write_csv", "truncate_dim",
                    "similarity_fn_names"});
        eval::TripletOptions o;
        o.main_similarity_function = args.get_optional<std::string>("main_similarity_function");
        if (args.contains("margin") && !args.json().at("margin").is_null()) {
            const auto& m = args.json().at("margin");
            if (m.is_object()) {
                for (const auto& [k, v] : m.items())
                    o.margin[k] = detail::json_as<double>(v, args.path("margin").entry(k));
            } else {
                const double all = detail::json_as<double>(m, args.path("margin"));
                for (const char* fn : {"cosine", "dot", "euclidean", "manhattan"}) o.margin[fn] = all;
            }
        }
        o.name = args.get<std::string>("name", "");
        o.write_csv = args.get<bool>("write_csv", true);
        o.truncate_dim = truncate_dim(args);
        o.similarity_fn_names = list_of<std::string>(args, "similarity_fn_names", {});
        eval::TripletEvaluator e(o);
        return evaluate_with(e, in, context);
    }
    if (name == "BinaryClassificationEvaluator") {
        check_args(args_json, name, {"name", "write_csv", "truncate_dim", "similarity_fn_names"});
        eval::BinaryClassificationOptions o;
        o.name = args.get<std::string>("name", "");
        o.write_csv = args.get<bool>("write_csv", true);
        o.truncate_dim = truncate_dim(args);
        o.similarity_fn_names = list_of<std::string>(args, "similarity_fn_names", {});
        eval::BinaryClassificationEvaluator e(binary_labels(vector_input(in, "labels", name)), o);
        return evaluate_with(e, in, context);
    }
    if (name == "ZeroShotClassificationEvaluator") {
        check_args(args_json, name, {"top_k", "prompts_per_class", "name", "write_csv", "truncate_dim"});
        eval::ZeroShotClassificationOptions o;
        o.top_k = list_of<int>(args, "top_k", o.top_k);
        o.prompts_per_class = args.get<std::size_t>("prompts_per_class", 1);
        o.name = args.get<std::string>("name", "");
        o.write_csv = args.get<bool>("write_csv", true);
        o.truncate_dim = truncate_dim(args);
        std::vector<std::int64_t> labels;
        for (double v : vector_input(in, "labels", name)) labels.push_back(static_cast<std::int64_t>(v));
        eval::ZeroShotClassificationEvaluator e(labels, o);
        return evaluate_with(e, in, context);
    }
    detail::throw_error("option --evaluator: expected one of InformationRetrievalEvaluator, ",
                        "EmbeddingSimilarityEvaluator, TripletEvaluator, BinaryClassificationEvaluator, ",
                        "ZeroShotClassificationEvaluator, SequentialEvaluator; found '", name, "'");
}

}  // namespace evaluate_cmd

// What `tandem evaluate` reads from its command line.
struct EvaluateCommandOptions {
    std::string evaluator;
    std::optional<std::string> args;
    // KEY=FILE each: .npy arrays, and (with --model) text files and files of image paths.
    std::vector<std::string> embeddings, texts, images;
    std::optional<std::filesystem::path> model, data;
    std::filesystem::path out;
};

inline int evaluate_run(const EvaluateCommandOptions& o) {
    using namespace evaluate_cmd;
    nlohmann::json args_json = nlohmann::json::object();
    if (o.args) {
        try {
            args_json = nlohmann::json::parse(*o.args);
        } catch (const nlohmann::json::parse_error& e) {
            detail::throw_error("option --args: expected a JSON object, found text that does not parse (",
                                e.what(), ")");
        }
        if (!args_json.is_object())
            detail::throw_error("option --args: expected a JSON object, found ",
                                detail::describe_json(args_json));
    }
    Inputs in;
    for (const auto& spec : o.embeddings) add_embeddings(in, spec);
    std::vector<std::pair<std::string, std::string>> encoded;
    for (const auto& spec : o.texts) encoded.emplace_back("--texts", spec);
    for (const auto& spec : o.images) encoded.emplace_back("--images", spec);
    if (o.model) {
        const auto model = SentenceTransformer<Cpu>::load(*o.model);
        for (const auto& [option, spec] : encoded) add_encoded(in, model, option, spec);
    } else if (!encoded.empty()) {
        detail::throw_error("option ", encoded.front().first, " needs --model DIR to encode with");
    }
    if (o.data) {
        in.data = io::read_json_file(*o.data);
        if (!in.data.is_object())
            detail::throw_error(o.data->string(), ": expected a JSON object, found ",
                                detail::describe_json(in.data));
    }
    if (in.embeddings.empty())
        detail::throw_error(
            "option --embeddings is required (KEY=FILE.npy), or --model with --texts or --images");
    std::filesystem::create_directories(o.out);
    const auto metrics = run(o.evaluator, args_json, in, {.output_path = o.out}).metrics;
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : metrics) j[k] = v;
    io::write_json_file(o.out / "metrics.json", j);
    std::printf("%s\n", j.dump().c_str());
    return 0;
}

inline void add_evaluate(CLI::App& app, int& status) {
    auto o = std::make_shared<EvaluateCommandOptions>();
    CLI::App* sub = app.add_subcommand(
        "evaluate",
        "run an evaluator on .npy embeddings: metrics.json and its CSV, as sentence-transformers");
    sub->footer(
        "Runs one sentence-transformers evaluator on embeddings saved as .npy (float32 or float64;\n"
        "scores and labels as 1-D arrays) and writes DIR/metrics.json (sentence-transformers v6\n"
        "names) and the evaluator's CSV. KEY is one of " +
        evaluate_cmd::known_keys() +
        ".\n"
        "With --model DIR, inputs may be texts or image paths instead, encoded by the model as\n"
        "evaluator(model) encodes them: queries with encode_query, the corpus with encode_document.\n");
    sub->add_option("--evaluator", o->evaluator,
                    "InformationRetrievalEvaluator, EmbeddingSimilarityEvaluator, TripletEvaluator, "
                    "BinaryClassificationEvaluator, ZeroShotClassificationEvaluator or SequentialEvaluator")
        ->required();
    sub->add_option("--args", o->args,
                    "the evaluator's constructor arguments, a JSON object of Python names");
    sub->add_option("--embeddings", o->embeddings, "KEY=FILE.npy, one or more");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder to encode --texts and --images with");
    sub->add_option("--texts", o->texts, "KEY=FILE, one text per line, one or more");
    sub->add_option("--images", o->images, "KEY=FILE, one image path per line, one or more");
    sub->add_option("--data", o->data,
                    "a JSON object of the other inputs: ids, relevant_docs, scores or labels as lists");
    sub->add_option("--out", o->out, "the folder to write (DIR)")->required();
    sub->callback([o, &status] { status = evaluate_run(*o); });
}

}  // namespace tandem::cli
