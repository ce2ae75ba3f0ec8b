#include "lola/data/loader.h"

#include <mutex>
#include <numeric>

#include "lola/core/error.h"
#include "lola/core/hash.h"
#include "lola/core/log.h"
#include "lola/io/hdf5.h"
#include "lola/io/well.h"

namespace lola::data {

uint64_t mix_seed(std::initializer_list<uint64_t> values) {
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (uint64_t v : values) {
        h = core::splitmix64(h + v);
    }
    return h;
}

Loader::Loader(std::shared_ptr<const WindowDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), opts_(std::move(options)) {
    LOLA_CHECK_USAGE(opts_.batch_size >= 1, "batch size must be >= 1, got {}", opts_.batch_size);
    LOLA_CHECK_USAGE(opts_.workers >= 1, "loader workers must be >= 1, got {}", opts_.workers);
    LOLA_CHECK_USAGE(opts_.prefetch >= 1, "loader prefetch must be >= 1, got {}", opts_.prefetch);
    channel_axes_ = dataset_->schema(0).channel_axes();
}

Loader::~Loader() { stop(); }

int64_t Loader::batches_per_epoch() const {
    const int64_t n = dataset_->size();
    return opts_.drop_last ? n / opts_.batch_size : (n + opts_.batch_size - 1) / opts_.batch_size;
}

void Loader::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
        t.join();
    }
    threads_.clear();
    ready_.clear();
    error_ = nullptr;
    stopping_ = false;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
    stop();
    epoch_ = epoch;
    n_batches_ = batches_per_epoch();
    LOLA_CHECK(first_batch >= 0 && first_batch <= n_batches_, "loader: first batch {} out of range [0, {}]",
               first_batch, n_batches_);
    order_.resize(static_cast<size_t>(dataset_->size()));
    std::iota(order_.begin(), order_.end(), int64_t{0});
    if (opts_.shuffle) {
        std::mt19937_64 rng(mix_seed({opts_.seed, static_cast<uint64_t>(epoch), 0x5348554646ULL}));
        for (size_t i = order_.size(); i > 1; --i) { // Fisher-Yates with a portable draw
            std::swap(order_[i - 1], order_[rng() % i]);
        }
    }
    next_to_issue_ = first_batch;
    next_to_return_ = first_batch;
    // Reader threads need a thread-safe HDF5; where lola serialises its HDF5 calls instead (io/hdf5.h), several
    // readers would only take turns: one reads.
    int workers = opts_.workers;
    if (workers > 1 && io::h5::serialized()) {
        static std::once_flag warned;
        std::call_once(warned, [&] {
            LOLA_LOG_WARN(
                "data loader: HDF5 calls are serialised ({}), so {} reader threads would take turns; using "
                "one",
                io::h5::library_threadsafe() ? "LOLA_HDF5_SERIAL is set" : "the HDF5 library is not thread-safe",
                workers);
        });
        workers = 1;
    }
    for (int w = 0; w < workers; ++w) {
        threads_.emplace_back([this] { worker_loop(); });
    }
}

Loader::RawBatch Loader::read_batch(int64_t batch, std::vector<std::unique_ptr<io::WellReader>>& readers) const {
    const int64_t global_begin = batch * opts_.batch_size;
    const int64_t global_size = std::min<int64_t>(opts_.batch_size, dataset_->size() - global_begin);
    const Shard::Rows rows = opts_.shard.rows(global_size);
    const int64_t begin = global_begin + rows.begin;
    const int64_t end = global_begin + rows.end;
    std::vector<int64_t> shape = dataset_->sample_shape();
    int64_t numel = 1;
    for (int64_t n : shape) {
        numel *= n;
    }
    shape.insert(shape.begin(), end - begin);
    RawBatch raw;
    raw.state = torch::empty(shape, torch::kFloat32);
    raw.first_position = begin;
    raw.global_size = global_size;
    raw.first_row = rows.begin;
    raw.weight = rows.weight;
    float* out = raw.state.data_ptr<float>();
    for (int64_t pos = begin; pos < end; ++pos) {
        const int64_t index = order_[static_cast<size_t>(pos)];
        raw.samples.push_back(dataset_->get_into(index, readers, out + (pos - begin) * numel));
        raw.indices.push_back(index);
    }
    return raw;
}

Batch Loader::finish_batch(RawBatch raw) const {
    std::vector<torch::Tensor> labels;
    for (size_t i = 0; i < raw.samples.size(); ++i) {
        Sample& s = raw.samples[i];
        if (!opts_.augment.empty()) {
            s.state = raw.state[static_cast<int64_t>(i)];
            std::mt19937_64 rng(mix_seed({opts_.seed, static_cast<uint64_t>(epoch_),
                                          static_cast<uint64_t>(raw.first_position + static_cast<int64_t>(i))}));
            augment(s, channel_axes_, opts_.augment, rng);
            raw.state[static_cast<int64_t>(i)].copy_(s.state);
        }
        labels.push_back(make_label(s));
    }
    Batch out;
    out.state = opts_.preprocess ? opts_.preprocess->forward(raw.state, 1) : raw.state;
    out.label = torch::stack(labels);
    out.indices = std::move(raw.indices);
    out.global_size = raw.global_size;
    out.first_row = raw.first_row;
    out.weight = raw.weight;
    return out;
}

void Loader::worker_loop() {
    std::vector<std::unique_ptr<io::WellReader>> readers; // this thread's own HDF5 handles
    for (;;) {
        int64_t batch = 0;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] {
                return stopping_ || error_ || next_to_issue_ >= n_batches_ ||
                       next_to_issue_ < next_to_return_ + opts_.prefetch;
            });
            if (stopping_ || error_ || next_to_issue_ >= n_batches_) {
                return;
            }
            batch = next_to_issue_++;
        }
        try {
            RawBatch b = read_batch(batch, readers);
            std::lock_guard<std::mutex> lock(mutex_);
            ready_.emplace(batch, std::move(b));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) {
                error_ = std::current_exception();
            }
        }
        cv_.notify_all();
    }
}

std::optional<Batch> Loader::next() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (next_to_return_ >= n_batches_) {
        return std::nullopt;
    }
    LOLA_CHECK(!threads_.empty(), "loader: call start_epoch() before next()");
    cv_.wait(lock, [&] { return error_ || ready_.count(next_to_return_) > 0; });
    if (error_ && ready_.count(next_to_return_) == 0) {
        std::exception_ptr e = error_;
        lock.unlock();
        std::rethrow_exception(e);
    }
    auto it = ready_.find(next_to_return_);
    RawBatch raw = std::move(it->second);
    ready_.erase(it);
    ++next_to_return_;
    lock.unlock();
    cv_.notify_all();
    return finish_batch(std::move(raw));
}

BatchStream::BatchStream(std::shared_ptr<const WindowDataset> dataset, LoaderOptions options)
    : loader_(std::move(dataset), std::move(options)) {
    LOLA_CHECK(loader_.batches_per_epoch() > 0,
               "the dataset yields no batch (too few samples for the batch size with "
               "drop_last?)");
}

Batch BatchStream::next() {
    if (!started_) {
        loader_.start_epoch(epoch_, batch_);
        started_ = true;
    }
    std::optional<Batch> b = loader_.next();
    if (!b) {
        ++epoch_;
        batch_ = 0;
        loader_.start_epoch(epoch_, 0);
        b = loader_.next();
    }
    ++batch_;
    return std::move(*b);
}

void BatchStream::seek(const std::vector<int64_t>& position) {
    LOLA_CHECK(position.size() == 2, "batch stream position needs {{epoch, batch}}, got {} numbers", position.size());
    epoch_ = position[0];
    batch_ = position[1];
    started_ = false;
}

} // namespace lola::data
