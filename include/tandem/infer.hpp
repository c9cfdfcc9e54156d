// tandem/infer: SentenceTransformer, a model with its tokenizer, image processor and
// folder settings for encoding and similarity, and the loader that builds one from a
// sentence-transformers or Hugging Face folder and the writer of its v6 layout;
// semantic_search, paraphrase_mining, mine_hard_negatives and quantize_embeddings.
#pragma once

#include <tandem/infer/cross_encoder.hpp>
#include <tandem/infer/load.hpp>
#include <tandem/infer/mine.hpp>
#include <tandem/infer/quantize.hpp>
#include <tandem/infer/save.hpp>
#include <tandem/infer/search.hpp>
#include <tandem/infer/sentence_transformer.hpp>
