// tandem/io: Hugging Face file formats: safetensors checkpoints (memory-mapped
// reads, atomic writes, shards), config.json for CLIP, SigLIP, BERT, DistilBERT,
// RoBERTa, XLM-RoBERTa and MPNet, and the JSON and atomic-file helpers the other
// readers and writers share, and the config.json of sentence-transformers' Pooling,
// Dense and Normalize folders, and which layout a sentence-transformers folder is
// (st_folder.hpp), and NumPy .npy arrays (npy.hpp).
#pragma once

#include <tandem/io/config/distilbert.hpp>
#include <tandem/io/config/mpnet.hpp>
#include <tandem/io/config/roberta.hpp>
#include <tandem/io/config/sentence_transformers.hpp>
#include <tandem/io/detail/atomic_file.hpp>
#include <tandem/io/hf_config.hpp>
#include <tandem/io/json_file.hpp>
#include <tandem/io/npy.hpp>
#include <tandem/io/safetensors.hpp>
#include <tandem/io/st_folder.hpp>
