#include "lola/train/data_parallel.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <mutex>

#include "lola/core/error.h"
#include "lola/core/hash.h"
#include "lola/distributed/group.h"
#include "lola/train/trainer.h"

namespace lola::train {

namespace {

/// `tensors` grouped by dtype and device, in order of first appearance.
std::vector<std::vector<torch::Tensor>> by_dtype_and_device(const std::vector<torch::Tensor>& tensors) {
    std::vector<std::vector<torch::Tensor>> groups;
    for (const auto& t : tensors) {
        auto same = [&](const std::vector<torch::Tensor>& g) {
            return g.front().scalar_type() == t.scalar_type() && g.front().device() == t.device();
        };
        auto it = std::find_if(groups.begin(), groups.end(), same);
        if (it == groups.end()) {
            groups.push_back({t});
        } else {
            it->push_back(t);
        }
    }
    return groups;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> flat;
    flat.reserve(tensors.size());
    for (const auto& t : tensors) {
        flat.push_back(t.reshape(-1));
    }
    return torch::cat(flat);
}

/// Copies consecutive slices of `flat` into `tensors`.
void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors) {
    int64_t offset = 0;
    for (const auto& t : tensors) {
        t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
        offset += t.numel();
    }
}

} // namespace

DataParallel::DataParallel(distributed::Group& group, torch::nn::Module& module, int64_t bucket_bytes, bool overlap)
    : group_(group), module_(module), overlap_(overlap) {
    for (const auto& p : module.parameters()) {
        if (p.requires_grad()) {
            params_.push_back(p);
        }
    }
    if (!params_.empty()) {
        device_ = params_.front().device();
    }
    place_.resize(params_.size());
    int64_t bytes = 0;
    for (size_t k = params_.size(); k-- > 0;) { // reverse order: the backward pass's, roughly
        const torch::Tensor& p = params_[k];
        const auto nbytes = static_cast<int64_t>(p.nbytes());
        const bool fits = !buckets_.empty() && bytes + nbytes <= bucket_bytes &&
                          params_[buckets_.back().params.front()].scalar_type() == p.scalar_type() &&
                          params_[buckets_.back().params.front()].device() == p.device();
        if (!fits) {
            buckets_.emplace_back();
            bytes = 0;
        }
        Bucket& b = buckets_.back();
        place_[k] = {buckets_.size() - 1, b.params.size()};
        b.offset.push_back(b.params.empty() ? 0 : b.offset.back() + params_[b.params.back()].numel());
        b.params.push_back(k);
        bytes += nbytes;
    }
    for (Bucket& b : buckets_) {
        const torch::Tensor& last = params_[b.params.back()];
        b.flat = torch::zeros({b.offset.back() + last.numel()}, last.options());
    }
    if (overlap_) {
        for (size_t k = 0; k < params_.size(); ++k) {
            hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
        }
    }
}

DataParallel::~DataParallel() {
    for (size_t k = 0; k < hooks_.size(); ++k) {
        params_[k].remove_hook(hooks_[k]);
    }
}

int DataParallel::rank() const { return group_.rank(); }
int DataParallel::size() const { return group_.size(); }

void DataParallel::broadcast_state() {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state = module_.parameters();
    for (const auto& b : module_.buffers()) {
        state.push_back(b);
    }
    // one flat tensor per dtype and device: a broadcast per tensor would cost a round trip each
    const auto groups = by_dtype_and_device(state);
    std::vector<torch::Tensor> flats;
    for (const auto& g : groups) {
        flats.push_back(flatten(g));
    }
    group_.broadcast(flats, 0);
    for (size_t g = 0; g < groups.size(); ++g) {
        unflatten_into(flats[g], groups[g]);
    }
}

void DataParallel::prepare() {
    for (Bucket& b : buckets_) {
        b.flat.zero_(); // a parameter without a gradient in this step counts zeros
        b.pending = b.params.size();
        b.started = false;
    }
    next_to_start_ = 0;
    armed_ = overlap_;
}

void DataParallel::on_gradient(size_t param, const torch::Tensor& grad) {
    if (!armed_) {
        return; // a backward pass outside a training step
    }
    torch::NoGradGuard no_grad;
    const auto [bucket, position] = place_[param];
    Bucket& b = buckets_[bucket];
    b.flat.narrow(0, b.offset[position], grad.numel()).copy_(grad.reshape(-1));
    if (--b.pending == 0) {
        start_ready_buckets();
    }
}

void DataParallel::start_ready_buckets() {
    // in bucket order, so that every rank starts the same sums in the same order
    while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].pending == 0) {
        start(buckets_[next_to_start_++]);
    }
}

void DataParallel::start(Bucket& b) {
    group_.start_all_reduce_sum(b.flat);
    b.started = true;
}

double DataParallel::average_gradients(double value) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    if (!armed_) { // no hooks ran: the gradients are read now
        for (Bucket& b : buckets_) {
            b.flat.zero_();
            for (size_t j = 0; j < b.params.size(); ++j) {
                const torch::Tensor& g = params_[b.params[j]].grad();
                if (g.defined()) {
                    b.flat.narrow(0, b.offset[j], g.numel()).copy_(g.reshape(-1));
                }
            }
        }
    }
    armed_ = false;
    for (Bucket& b : buckets_) { // those with a parameter that got no gradient, or all without overlap
        if (!b.started) {
            start(b);
        }
    }
    const torch::Tensor scalar = torch::tensor({value}, torch::TensorOptions().dtype(torch::kFloat64)).to(device_);
    group_.start_all_reduce_sum(scalar);
    group_.wait_started();
    const double inv = 1.0 / static_cast<double>(group_.size());
    for (Bucket& b : buckets_) {
        b.flat.mul_(inv);
        for (size_t j = 0; j < b.params.size(); ++j) {
            torch::Tensor& p = params_[b.params[j]];
            const torch::Tensor avg = b.flat.narrow(0, b.offset[j], p.numel()).view_as(p);
            if (p.grad().defined()) {
                p.mutable_grad().copy_(avg);
            } else {
                p.mutable_grad() = avg.clone();
            }
        }
    }
    const double mean = scalar.item<double>() * inv;
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return mean;
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
    if (values.empty()) {
        return values;
    }
    std::vector<torch::Tensor> t{torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat64)).to(device_)};
    group_.all_reduce_sum(t);
    const torch::Tensor cpu = t.front().cpu();
    return {cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel()};
}

RankRandomness::RankRandomness(int rank, int count, torch::Device device, uint64_t salt) {
    if (count <= 1) {
        return;
    }
    std::vector<at::Generator> generators{at::detail::getDefaultCPUGenerator()};
    if (device.is_cuda()) {
        generators.push_back(at::globalContext().defaultGenerator(device));
    }
    for (at::Generator& gen : generators) {
        std::lock_guard<std::mutex> lock(gen.mutex());
        saved_.emplace_back(gen, gen.get_state());
    }
    // the shared CPU state, hashed: the same on every rank
    core::Fnv1a shared;
    hash_tensor(shared, saved_.front().second);
    const uint64_t h = shared.value() ^ core::splitmix64(salt);
    for (size_t g = 0; g < generators.size(); ++g) {
        std::lock_guard<std::mutex> lock(generators[g].mutex());
        generators[g].set_current_seed(core::splitmix64(h ^ core::splitmix64((static_cast<uint64_t>(rank) << 8U) + g)));
    }
}

RankRandomness::~RankRandomness() {
    for (auto& [gen, state] : saved_) {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(state);
    }
}

std::string state_digest(torch::nn::Module& module, torch::optim::Optimizer& optimizer) {
    core::Fnv1a hash;
    hash.add(weights_hash(module));
    // Optimizer states are reachable only through their serialisation, whose archives also hold a random id: each
    // parameter's state is written and read back, and its tensors hashed by name.
    for (const auto& group : optimizer.param_groups()) {
        for (const auto& p : group.params()) {
            const auto it = optimizer.state().find(p.unsafeGetTensorImpl());
            if (it == optimizer.state().end()) {
                continue;
            }
            torch::serialize::OutputArchive out;
            it->second->serialize(out);
            std::string bytes;
            out.save_to([&bytes](const void* data, size_t size) -> size_t {
                bytes.append(static_cast<const char*>(data), size);
                return size;
            });
            torch::serialize::InputArchive in;
            in.load_from(bytes.data(), bytes.size());
            std::vector<std::string> keys = in.keys();
            std::sort(keys.begin(), keys.end());
            for (const auto& key : keys) {
                torch::Tensor t;
                if (in.try_read(key, t)) {
                    hash_tensor(hash, t);
                }
            }
        }
    }
    return hash.hex();
}

} // namespace lola::train
