// Model families: CLIP and SigLIP (and the DualEncoder they are built from), BERT and the
// text towers built like it (DistilBERT, RoBERTa, XLM-RoBERTa, MPNet), with Hugging Face
// checkpoint loading and saving; PooledTower for sentence-transformers' pooling,
// SentenceTransformerStack and Router for its module lists (StackModule for one chosen at run
// time), ModelWithStore to own and train one, AnyEmbeddingModel for a model a folder chooses,
// save_st_modules to write one as sentence-transformers modules.
#pragma once

#include <tandem/core/text_batch.hpp>
#include <tandem/models/any_model.hpp>
#include <tandem/models/bert.hpp>
#include <tandem/models/blip.hpp>
#include <tandem/models/clip.hpp>
#include <tandem/models/distilbert.hpp>
#include <tandem/models/dual_encoder.hpp>
#include <tandem/models/model_with_store.hpp>
#include <tandem/models/mpnet.hpp>
#include <tandem/models/pooled_tower.hpp>
#include <tandem/models/pretrained.hpp>
#include <tandem/models/roberta.hpp>
#include <tandem/models/router.hpp>
#include <tandem/models/sentence_transformer_stack.hpp>
#include <tandem/models/siglip.hpp>
#include <tandem/models/st_modules.hpp>
#include <tandem/models/stack_module.hpp>
#include <tandem/models/vilt.hpp>
