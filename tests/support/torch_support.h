// Helpers for tests of LibTorch code (header-only, so that the non-torch tests need not link LibTorch).
#pragma once

#include <gtest/gtest.h>

#include <torch/types.h>
#include <torch/utils.h>

namespace lola::test {

/// Seeded, single-threaded tensor tests: torch::manual_seed(0) and one intra-op thread.
class SeededTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(0);
        torch::set_num_threads(1);
    }
};

/// ||a - b|| / ||b||
inline double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).norm() / b.norm()).item<double>();
}

} // namespace lola::test
