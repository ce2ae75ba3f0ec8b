#include "lola/data/latent_windows.h"

#include <cstring>
#include <mutex>
#include <random>

#include "lola/core/error.h"
#include "lola/data/loader.h"

namespace lola::data {

struct LatentWindows::Impl {
    io::LatentCacheReader reader;
    io::LatentCacheInfo info;
    int64_t n = 5, stride = 1, offsets = 0;
    std::vector<float> states; ///< (N, L, state) when in memory
    std::vector<float> labels; ///< (N, label_dim)
    mutable std::mutex mutex;  ///< the HDF5 reader is not for concurrent use

    explicit Impl(const std::filesystem::path& p) : reader(p), info(reader.info()) {}
};

LatentWindows::LatentWindows(const std::filesystem::path& cache, int64_t n_states, int64_t stride,
                             int64_t max_memory_bytes)
    : impl_(std::make_unique<Impl>(cache)) {
    LOLA_CHECK_USAGE(n_states >= 1 && stride >= 1, "latent windows: n_states ({}) and stride ({}) must be >= 1",
                     n_states, stride);
    Impl& m = *impl_;
    m.n = n_states;
    m.stride = stride;
    const int64_t span = 1 + (n_states - 1) * stride;
    LOLA_CHECK_USAGE(m.info.n_states >= span,
                     "latent cache '{}' holds {} states per trajectory, fewer than a window of "
                     "{} states {} apart needs ({}): lower the window stride or cache more states",
                     cache.string(), m.info.n_states, n_states, stride, span);
    m.offsets = m.info.n_states - span + 1;
    m.labels = m.reader.read_labels();
    const int64_t bytes = m.info.n_rows * m.info.n_states * m.info.state_numel() * int64_t(sizeof(float));
    if (bytes <= max_memory_bytes) {
        m.states.resize(static_cast<size_t>(m.info.n_rows * m.info.n_states * m.info.state_numel()));
        const size_t per_row = static_cast<size_t>(m.info.n_states * m.info.state_numel());
        for (int64_t r = 0; r < m.info.n_rows; ++r) {
            m.reader.read_window(r, 0, m.info.n_states, 1, m.states.data() + static_cast<size_t>(r) * per_row);
        }
    }
}

LatentWindows::~LatentWindows() = default;

int64_t LatentWindows::size() const { return impl_->info.n_rows * impl_->offsets; }
int64_t LatentWindows::offsets_per_row() const { return impl_->offsets; }
const io::LatentCacheInfo& LatentWindows::info() const { return impl_->info; }
bool LatentWindows::in_memory() const { return !impl_->states.empty(); }

std::vector<int64_t> LatentWindows::window_shape() const {
    std::vector<int64_t> s{impl_->info.latent_shape[0], impl_->n};
    s.insert(s.end(), impl_->info.latent_shape.begin() + 1, impl_->info.latent_shape.end());
    return s;
}

WindowBatch LatentWindows::get(const std::vector<int64_t>& indices) const {
    const Impl& m = *impl_;
    const auto B = static_cast<int64_t>(indices.size());
    const int64_t numel = m.info.state_numel();
    std::vector<int64_t> shape{B, m.n};
    shape.insert(shape.end(), m.info.latent_shape.begin(), m.info.latent_shape.end());
    torch::Tensor states = torch::empty(shape, torch::kFloat32); // (B, n, C, spatial...)
    torch::Tensor label = torch::empty({B, m.info.label_dim}, torch::kFloat32);
    float* out = states.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
        const int64_t idx = indices[static_cast<size_t>(b)];
        LOLA_CHECK(idx >= 0 && idx < size(), "latent window index {} out of range [0, {})", idx, size());
        const int64_t row = idx / m.offsets, t0 = idx % m.offsets;
        float* dst = out + b * m.n * numel;
        if (in_memory()) {
            const float* src = m.states.data() + (row * m.info.n_states + t0) * numel;
            for (int64_t k = 0; k < m.n; ++k) {
                std::memcpy(dst + k * numel, src + k * m.stride * numel, static_cast<size_t>(numel) * sizeof(float));
            }
        } else {
            std::lock_guard<std::mutex> lock(m.mutex);
            m.reader.read_window(row, t0, m.n, m.stride, dst);
        }
        std::memcpy(label.data_ptr<float>() + b * m.info.label_dim, m.labels.data() + row * m.info.label_dim,
                    static_cast<size_t>(m.info.label_dim) * sizeof(float));
    }
    return {states.transpose(1, 2).contiguous(), label}; // (B, C, n, spatial...)
}

WindowStream::WindowStream(std::shared_ptr<const LatentWindows> windows, int64_t batch_size, uint64_t seed, Shard shard)
    : windows_(std::move(windows)), batch_size_(batch_size), seed_(seed), shard_(shard) {
    LOLA_CHECK_USAGE(batch_size_ >= 1, "batch size must be >= 1, got {}", batch_size_);
    batches_per_epoch_ = windows_->size() / batch_size_;
    LOLA_CHECK_USAGE(batches_per_epoch_ >= 1,
                     "batch size {} is larger than the {} windows of '{}': lower "
                     "loader.batch_size",
                     batch_size_, windows_->size(), windows_->info().provenance.split);
}

std::vector<int64_t> WindowStream::indices(int64_t epoch, int64_t batch) const {
    if (perm_epoch_ != epoch) {
        perm_.resize(static_cast<size_t>(windows_->size()));
        for (size_t i = 0; i < perm_.size(); ++i) {
            perm_[i] = static_cast<int64_t>(i);
        }
        std::mt19937_64 rng(mix_seed({seed_, static_cast<uint64_t>(epoch), 0x57494e444f57ULL}));
        for (size_t i = perm_.size(); i > 1; --i) { // Fisher-Yates with a portable draw
            std::swap(perm_[i - 1], perm_[rng() % i]);
        }
        perm_epoch_ = epoch;
    }
    const auto first = perm_.begin() + batch * batch_size_;
    return {first, first + batch_size_};
}

WindowBatch WindowStream::next() {
    const std::vector<int64_t> all = indices(epoch_, batch_);
    const Shard::Rows rows = shard_.rows(static_cast<int64_t>(all.size()));
    WindowBatch b = windows_->get({all.begin() + rows.begin, all.begin() + rows.end});
    b.global_size = static_cast<int64_t>(all.size());
    b.first_row = rows.begin;
    b.weight = rows.weight;
    if (++batch_ == batches_per_epoch_) {
        batch_ = 0;
        ++epoch_;
    }
    return b;
}

void WindowStream::seek(const std::vector<int64_t>& position) {
    LOLA_CHECK(position.size() == 2 && position[1] >= 0 && position[1] < batches_per_epoch_,
               "window stream: invalid checkpoint position (expected epoch and batch < {})", batches_per_epoch_);
    epoch_ = position[0];
    batch_ = position[1];
}

} // namespace lola::data
