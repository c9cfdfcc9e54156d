// Dataset: named columns of equal length, as Hugging Face `datasets.Dataset` holds the
// pairs, triplets and n-tuples sentence-transformers trains on. Inputs are matched to
// the loss by position; the label column is the first of `label`, `labels`, `score`,
// `scores` present (sentence-transformers' rule), wherever it stands. `select`,
// `shuffle` and splits share the columns and keep a row mapping, as `datasets` keeps
// an indices mapping, so they copy no cell.
#pragma once

#include <tandem/core/error.hpp>
#include <tandem/data/column.hpp>
#include <tandem/data/permutation.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::data {

// sentence-transformers' DEFAULT_LABEL_COLUMNS, in the order it looks for them.
inline const std::vector<std::string>& label_column_names() {
    static const std::vector<std::string> names = {"label", "labels", "score", "scores"};
    return names;
}

class DatasetDict;

class Dataset {
public:
    Dataset() = default;

    explicit Dataset(std::vector<Column> columns) {
        for (auto& c : columns) {
            if (find(c.name())) detail::throw_error("Dataset: column '", c.name(), "' appears twice");
            if (!columns_.empty() && c.size() != columns_[0]->size())
                detail::throw_error("Dataset: column '", c.name(), "' has ", c.size(), " rows, expected ",
                                    columns_[0]->size(), " as column '", columns_[0]->name(), "'");
            columns_.push_back(std::make_shared<const Column>(std::move(c)));
        }
        size_ = columns_.empty() ? 0 : columns_[0]->size();
    }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t num_columns() const { return columns_.size(); }
    std::vector<std::string> column_names() const {
        std::vector<std::string> names;
        for (const auto& c : columns_) names.push_back(c->name());
        return names;
    }
    bool has_column(const std::string& name) const { return find(name).has_value(); }
    const Column& column(std::size_t i) const {
        if (i >= columns_.size())
            detail::throw_error("Dataset: column ", i, " is out of range (", columns_.size(), " columns)");
        return *columns_[i];
    }
    const Column& column(const std::string& name) const { return *columns_[index_of(name)]; }
    std::size_t index_of(const std::string& name) const {
        if (auto i = find(name)) return *i;
        detail::throw_error("Dataset: no column named '", name, "'; the columns are ", names_list());
    }

    // The row of the columns behind dataset row `row` (after select / shuffle).
    std::size_t source_row(std::size_t row) const {
        if (row >= size_) detail::throw_error("Dataset: row ", row, " is out of range (", size_, " rows)");
        return rows_ ? (*rows_)[row] : row;
    }
    Cell cell(std::size_t row, std::size_t col) const { return column(col).cell(source_row(row)); }
    std::int64_t label(std::size_t row, std::size_t col) const { return column(col).label(source_row(row)); }
    float score(std::size_t row, std::size_t col) const { return column(col).score(source_row(row)); }
    std::string where(std::size_t row, std::size_t col) const { return column(col).where(source_row(row)); }

    // The label column by sentence-transformers' rule, if there is one.
    std::optional<std::size_t> label_column() const {
        for (const auto& name : label_column_names())
            if (auto i = find(name)) return i;
        return std::nullopt;
    }
    // The columns a loss receives, in order: all but the label column and `dataset_name`.
    std::vector<std::size_t> input_columns() const {
        std::vector<std::size_t> out;
        const auto label = label_column();
        for (std::size_t i = 0; i < columns_.size(); ++i)
            if (i != label && columns_[i]->name() != "dataset_name") out.push_back(i);
        return out;
    }

    Dataset select_columns(const std::vector<std::string>& names) const {
        Dataset out = with_columns({});
        for (const auto& n : names) {
            if (out.find(n)) detail::throw_error("select_columns: column '", n, "' is named twice");
            out.columns_.push_back(columns_[index_of(n)]);
        }
        return out;
    }
    Dataset remove_columns(const std::vector<std::string>& names) const {
        for (const auto& n : names) index_of(n);
        Dataset out = with_columns({});
        for (const auto& c : columns_)
            if (std::find(names.begin(), names.end(), c->name()) == names.end()) out.columns_.push_back(c);
        return out;
    }
    Dataset rename_column(const std::string& from, const std::string& to) const {
        const std::size_t i = index_of(from);
        if (from != to && find(to))
            detail::throw_error("rename_column: a column named '", to, "' already exists");
        Dataset out = *this;
        out.columns_[i] = std::make_shared<const Column>(columns_[i]->renamed(to));
        return out;
    }

    // The rows `rows`, in that order (repeats allowed), as `datasets.Dataset.select`.
    Dataset select(const std::vector<std::size_t>& rows) const {
        auto mapped = std::make_shared<std::vector<std::size_t>>();
        mapped->reserve(rows.size());
        for (std::size_t r : rows) mapped->push_back(source_row(r));
        Dataset out = *this;
        out.rows_ = std::move(mapped);
        out.size_ = rows.size();
        return out;
    }
    Dataset shuffle(std::uint64_t seed) const { return select(permutation(size_, seed)); }

    // `test_size` in (0, 1) is a fraction (ceil, as `datasets`), >= 1 a row count. The
    // test rows are the first ones of a seeded permutation, the train rows the rest.
    DatasetDict train_test_split(double test_size, std::uint64_t seed) const;

private:
    std::optional<std::size_t> find(const std::string& name) const {
        for (std::size_t i = 0; i < columns_.size(); ++i)
            if (columns_[i]->name() == name) return i;
        return std::nullopt;
    }
    std::string names_list() const {
        std::string s = "[";
        for (const auto& c : columns_) s += (s.size() > 1 ? ", '" : "'") + c->name() + "'";
        return s + "]";
    }
    Dataset with_columns(std::vector<std::shared_ptr<const Column>> columns) const {
        Dataset out = *this;
        out.columns_ = std::move(columns);
        return out;
    }

    std::vector<std::shared_ptr<const Column>> columns_;
    std::shared_ptr<const std::vector<std::size_t>> rows_;  // null: row i is column row i
    std::size_t size_ = 0;
};

// Datasets one after another, as `datasets.concatenate_datasets`: the same column names
// and types in the same order. The cells are copied into memory.
inline Dataset concatenate(const std::vector<Dataset>& parts) {
    if (parts.empty()) detail::throw_error("concatenate: expected at least one dataset, found none");
    const auto names = parts[0].column_names();
    for (std::size_t p = 1; p < parts.size(); ++p) {
        if (parts[p].column_names() != names)
            detail::throw_error("concatenate: dataset ", p, " has other columns than dataset 0");
        for (std::size_t c = 0; c < names.size(); ++c)
            if (parts[p].column(c).type() != parts[0].column(c).type())
                detail::throw_error("concatenate: column '", names[c], "' holds ",
                                    column_type_name(parts[p].column(c).type()), "s in dataset ", p, " but ",
                                    column_type_name(parts[0].column(c).type()), "s in dataset 0");
    }
    std::vector<Column> columns;
    for (std::size_t c = 0; c < names.size(); ++c) {
        std::vector<Column> pieces;
        for (const auto& d : parts) {
            std::vector<std::size_t> rows(d.size());
            for (std::size_t r = 0; r < d.size(); ++r) rows[r] = d.source_row(r);
            pieces.push_back(d.column(c).gather(rows));
        }
        // Cells of one type from every piece, in order.
        std::vector<Cell> cells;
        std::vector<std::int64_t> labels;
        std::vector<float> scores;
        const ColumnType type = pieces[0].type();
        for (const auto& piece : pieces)
            for (std::size_t r = 0; r < piece.size(); ++r) {
                if (type == ColumnType::label)
                    labels.push_back(piece.label(r));
                else if (type == ColumnType::score)
                    scores.push_back(piece.score(r));
                else
                    cells.push_back(piece.cell(r));
            }
        if (type == ColumnType::label) {
            columns.emplace_back(names[c], std::move(labels));
        } else if (type == ColumnType::score) {
            columns.emplace_back(names[c], std::move(scores));
        } else if (type == ColumnType::mixed) {
            columns.emplace_back(names[c], std::move(cells));
        } else if (type == ColumnType::text) {
            std::vector<std::string> texts;
            for (auto& cell : cells) texts.push_back(std::move(std::get<std::string>(cell)));
            columns.emplace_back(names[c], std::move(texts));
        } else {
            std::vector<ImageRef> images;
            for (auto& cell : cells) images.push_back(std::move(std::get<ImageRef>(cell)));
            columns.emplace_back(names[c], std::move(images));
        }
    }
    return Dataset(std::move(columns));
}

// Named datasets for multi-dataset training (sentence-transformers' dict of datasets),
// in insertion order; samplers address their rows as one concatenated range.
class DatasetDict {
public:
    DatasetDict() = default;
    DatasetDict(std::initializer_list<std::pair<std::string, Dataset>> items) {
        for (const auto& [name, d] : items) insert(name, d);
    }

    void insert(const std::string& name, Dataset d) {
        if (find(name)) detail::throw_error("DatasetDict: a dataset named '", name, "' already exists");
        names_.push_back(name);
        datasets_.push_back(std::move(d));
    }
    std::size_t size() const { return datasets_.size(); }
    const std::vector<std::string>& names() const { return names_; }
    const Dataset& operator[](std::size_t i) const {
        if (i >= datasets_.size())
            detail::throw_error("DatasetDict: dataset ", i, " is out of range (", datasets_.size(), ")");
        return datasets_[i];
    }
    const Dataset& operator[](const std::string& name) const {
        if (auto i = find(name)) return datasets_[*i];
        detail::throw_error("DatasetDict: no dataset named '", name, "'");
    }
    // Rows of all datasets together, and where global row `row` lives.
    std::size_t total_rows() const {
        std::size_t n = 0;
        for (const auto& d : datasets_) n += d.size();
        return n;
    }
    std::pair<std::size_t, std::size_t> locate(std::size_t row) const {
        for (std::size_t i = 0; i < datasets_.size(); ++i) {
            if (row < datasets_[i].size()) return {i, row};
            row -= datasets_[i].size();
        }
        detail::throw_error("DatasetDict: row is out of range (", total_rows(), " rows in all)");
    }

private:
    std::optional<std::size_t> find(const std::string& name) const {
        for (std::size_t i = 0; i < names_.size(); ++i)
            if (names_[i] == name) return i;
        return std::nullopt;
    }
    std::vector<std::string> names_;
    std::vector<Dataset> datasets_;
};

inline DatasetDict Dataset::train_test_split(double test_size, std::uint64_t seed) const {
    if (!(test_size > 0))
        detail::throw_error("train_test_split: test_size must be positive, found ", test_size);
    const auto n_test = static_cast<std::size_t>(
        test_size < 1 ? std::ceil(test_size * static_cast<double>(size_)) : std::floor(test_size));
    if (n_test >= size_)
        detail::throw_error("train_test_split: test_size ", test_size, " leaves no training rows of ", size_);
    const auto order = permutation(size_, seed);
    return DatasetDict{
        {"train", select({order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end()})},
        {"test", select({order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test)})}};
}

}  // namespace tandem::data
