// `tandem search --model DIR --queries FILE (--corpus FILE | --corpus-images IMAGE...)`:
// each query's top-k corpus entries by the model's embeddings, as sentence-transformers'
// semantic_search over model.encode(...): printed as a table per query, or one JSON line
// per query with --jsonl. A corpus already encoded (--corpus-embeddings E.npy, rows in
// the order of --corpus) is streamed from the file instead of encoded.
#pragma once

#include <tandem/backend/cpu.hpp>
#include <tandem/core/error.hpp>
#include <tandem/infer/search.hpp>
#include <tandem/infer/sentence_transformer.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "encode.hpp"
#include "validators.hpp"

namespace tandem::cli {

struct SearchCommandOptions {
    std::filesystem::path model, queries;
    std::optional<std::filesystem::path> corpus, corpus_embeddings;
    std::vector<std::filesystem::path> corpus_images;
    SemanticSearchOptions search;
    EncodeOptions encode;
    bool jsonl = false;
};

inline int search_run(const SearchCommandOptions& o) {
    if (o.corpus.has_value() == !o.corpus_images.empty())
        detail::throw_error("give --corpus or --corpus-images, one of them");
    const auto model = SentenceTransformer<Cpu>::load(o.model);
    const auto queries = read_lines(o.queries);
    std::vector<std::string> corpus;
    if (o.corpus)
        corpus = read_lines(*o.corpus);
    else
        for (const auto& p : o.corpus_images) corpus.push_back(p.string());
    const auto query_embeddings = model.encode_query(queries, o.encode);
    std::vector<std::vector<SearchHit>> hits;
    if (o.corpus_embeddings) {
        const io::NpyMatrixReader reader(*o.corpus_embeddings);
        if (reader.rows() != corpus.size())
            detail::throw_error(o.corpus_embeddings->string(), ": ", reader.rows(),
                                " rows, expected one per corpus entry (", corpus.size(), ")");
        hits = semantic_search(query_embeddings, *o.corpus_embeddings, o.search);
    } else {
        const auto corpus_embeddings =
            o.corpus ? model.encode_document(corpus, o.encode) : model.encode(o.corpus_images, o.encode);
        hits = semantic_search(query_embeddings, corpus_embeddings, o.search);
    }
    for (std::size_t q = 0; q < queries.size(); ++q) {
        if (o.jsonl) {
            nlohmann::ordered_json line{{"query", queries[q]}, {"hits", nlohmann::ordered_json::array()}};
            for (const auto& h : hits[q])
                line["hits"].push_back(
                    {{"corpus_id", h.corpus_id}, {"score", h.score}, {"corpus", corpus[h.corpus_id]}});
            std::printf("%s\n", line.dump().c_str());
        } else {
            std::printf("%s%s\n", q ? "\n" : "", queries[q].c_str());
            for (std::size_t r = 0; r < hits[q].size(); ++r)
                std::printf("  %zu. %.4f  %s\n", r + 1, hits[q][r].score,
                            corpus[hits[q][r].corpus_id].c_str());
        }
    }
    return 0;
}

inline void add_search(CLI::App& app, int& status) {
    auto o = std::make_shared<SearchCommandOptions>();
    CLI::App* sub = app.add_subcommand(
        "search", "each query's top-k entries of a corpus of texts or images (semantic_search)");
    sub->add_option("--model", o->model,
                    "a sentence-transformers folder, or a Hugging Face BERT or CLIP folder")
        ->required();
    sub->add_option("--queries", o->queries, "a file with one query text per line, - for stdin")->required();
    sub->add_option("--corpus", o->corpus, "a file with one corpus text per line");
    sub->add_option("--corpus-images", o->corpus_images, "corpus image files");
    sub->add_option("--corpus-embeddings", o->corpus_embeddings,
                    "the corpus already encoded: a float32 or float64 .npy file, one row per entry");
    sub->add_option("--top-k", o->search.top_k, "hits per query (default 10)")->check(integer_at_least(1));
    sub->add_option("--score-function", o->search.score_function, "cosine or dot (default cosine)")
        ->check(CLI::IsMember({"cosine", "dot"}));
    sub->add_option("--batch-size", o->encode.batch_size, "inputs per forward pass (default 32)")
        ->check(integer_at_least(1));
    sub->add_flag("--jsonl", o->jsonl,
                  "one JSON line per query: {query, hits: [{corpus_id, score, corpus}]}");
    sub->callback([o, &status] { status = search_run(*o); });
}

}  // namespace tandem::cli
