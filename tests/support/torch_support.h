// Helpers for tests of LibTorch code (header-only, so that the non-torch tests need not link LibTorch).
#pragma once

#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cfloat>
#include <cstdlib>
#include <string>

namespace lola::test {

/// Intra-op threads of tensor tests: OMP_NUM_THREADS when set (ctest sets 1; `make test-portability` runs the suite
/// with 1, 2 and 7), else 1.
inline int test_threads() {
    const char* env = std::getenv("OMP_NUM_THREADS");
    const int n = env != nullptr ? std::atoi(env) : 1;
    return n >= 1 ? n : 1;
}

/// Seeded tensor tests: torch::manual_seed(0) and test_threads() intra-op threads.
class SeededTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(0);
        torch::set_num_threads(test_threads());
    }
};

/// ||a - b|| / ||b||
inline double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).norm() / b.norm()).item<double>();
}

/// Unit roundoff of a floating-point dtype.
inline double unit_roundoff(torch::ScalarType dtype) {
    switch (dtype) {
        case torch::kFloat64:
            return DBL_EPSILON / 2;
        case torch::kFloat32:
            return FLT_EPSILON / 2;
        case torch::kBFloat16:
            return 1.0 / 256;
        case torch::kFloat16:
            return 1.0 / 2048;
        default:
            return 0.0;
    }
}

/// Relative tolerance between two computations of the same quantity that may differ in summation order (another
/// batch size, chunking, thread count, or the kernels LibTorch picks on another CPU): `depth` chained reductions of
/// at most `n_terms` terms each. Higham's bound for a sum of n terms is n u (u the unit roundoff of `dtype`); the
/// factor 4 covers the rounding of the surrounding element-wise operations. Bit-equality is promised only between
/// runs of one configuration on one machine; everything else is compared with this.
inline double reorder_tolerance(torch::ScalarType dtype, int64_t n_terms, int64_t depth = 1) {
    return 4.0 * static_cast<double>(std::max<int64_t>(depth, 1) * std::max<int64_t>(n_terms, 1)) *
           unit_roundoff(dtype);
}

/// max |a - b| <= reorder_tolerance(b's dtype, n_terms, depth) * max |b| (shapes must match).
inline ::testing::AssertionResult close_up_to_reordering(const torch::Tensor& a, const torch::Tensor& b,
                                                         int64_t n_terms, int64_t depth = 1) {
    if (a.sizes() != b.sizes()) {
        return ::testing::AssertionFailure() << "shapes differ: " << a.sizes() << " vs " << b.sizes();
    }
    const double tol = reorder_tolerance(b.scalar_type(), n_terms, depth);
    const double scale = b.numel() == 0 ? 0.0 : b.abs().max().item<double>();
    const double diff = a.numel() == 0 ? 0.0 : (a - b).abs().max().item<double>();
    if (diff <= tol * scale) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "max |a - b| = " << diff << " exceeds " << tol
                                         << " x max |b| = " << tol * scale << " (" << n_terms << " terms, depth "
                                         << depth << ")";
}

} // namespace lola::test
