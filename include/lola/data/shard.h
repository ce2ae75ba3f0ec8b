// A rank's share of each global batch in data-parallel training (docs/distributed.md): every rank walks the same
// seeded batch order, and rank r of W takes its own contiguous rows of every global batch, so the W shards together are
// the single-process batch.
#pragma once

#include <cstdint>

namespace lola::data {

struct Shard {
    int rank = 0;
    int count = 1;

    struct Rows {
        int64_t begin = 0, end = 0; ///< [begin, end) of the global batch's rows
        /// count x rows / n: a shard's mean loss times its weight, averaged over the shards, is the global batch's mean
        double weight = 1;
    };

    /// This shard's rows of a global batch of n rows: contiguous, the shards' sizes differ by at most one. A shard
    /// left without a row (n < count) takes row 0 with weight 0, so that every rank runs the same computation.
    Rows rows(int64_t n) const {
        Rows r;
        r.begin = n * rank / count;
        r.end = n * (rank + 1) / count;
        r.weight = static_cast<double>(count) * static_cast<double>(r.end - r.begin) / static_cast<double>(n);
        if (r.end == r.begin) {
            r.begin = 0;
            r.end = 1;
        }
        return r;
    }
};

} // namespace lola::data
