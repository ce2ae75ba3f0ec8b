// A 2-D scalar field on a regular grid, the input of every panel figure.
#pragma once

#include <cstdint>
#include <vector>

namespace lola::figures {

/// A height x width field, row-major, row 0 drawn at the top. NaN/Inf entries are allowed (drawn grey).
struct Field2D {
    int64_t height = 0;
    int64_t width = 0;
    std::vector<float> values; ///< height * width values, values[i * width + j] is row i, column j

    /// Value at row i, column j (no bounds check).
    float at(int64_t i, int64_t j) const { return values[static_cast<size_t>(i * width + j)]; }
};

/// Throws lola::Error unless height, width > 0 and values.size() == height * width; `what` names the field.
void check_field(const Field2D& field, const char* what);

/// a - b elementwise (e.g. the error column: prediction - truth); throws lola::Error when the sizes differ.
Field2D difference(const Field2D& a, const Field2D& b);

} // namespace lola::figures
