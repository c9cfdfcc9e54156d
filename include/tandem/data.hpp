// The data layer: datasets of texts, images, labels and scores, their readers, batch
// samplers, the collator and the prefetching DataLoader.
#pragma once

#include <tandem/data/batch.hpp>
#include <tandem/data/collator.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/concepts.hpp>
#include <tandem/data/dataset.hpp>
#include <tandem/data/image_ref.hpp>
#include <tandem/data/loader.hpp>
#include <tandem/data/permutation.hpp>
#include <tandem/data/readers/csv.hpp>
#include <tandem/data/readers/idx.hpp>
#include <tandem/data/readers/image_folder.hpp>
#include <tandem/data/readers/jsonl.hpp>
#include <tandem/data/readers/webdataset.hpp>
#include <tandem/data/samplers.hpp>
