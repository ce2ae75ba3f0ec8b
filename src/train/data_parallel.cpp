#include "lola/train/data_parallel.h"

#include <torch/serialize/archive.h>

#include <chrono>

#include "lola/core/error.h"
#include "lola/distributed/group.h"

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

DataParallel::DataParallel(distributed::Group& group, torch::nn::Module& module, int64_t bucket_bytes)
    : group_(group), module_(module) {
    for (const auto& p : module.parameters()) {
        if (p.requires_grad()) {
            params_.push_back(p);
        }
    }
    int64_t bytes = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
        const torch::Tensor& p = params_[i];
        const auto nbytes = static_cast<int64_t>(p.nbytes());
        const bool fits = !buckets_.empty() && bytes + nbytes <= bucket_bytes &&
                          params_[buckets_.back().front()].scalar_type() == p.scalar_type() &&
                          params_[buckets_.back().front()].device() == p.device();
        if (!fits) {
            buckets_.emplace_back();
            bytes = 0;
        }
        buckets_.back().push_back(i);
        bytes += nbytes;
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

double DataParallel::average_gradients(double value) {
    const auto start = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> flats;
    for (const auto& bucket : buckets_) {
        std::vector<torch::Tensor> grads;
        for (const size_t i : bucket) {
            const torch::Tensor& g = params_[i].grad();
            grads.push_back(g.defined() ? g : torch::zeros_like(params_[i]));
        }
        flats.push_back(flatten(grads));
    }
    const torch::Device device = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
    flats.push_back(torch::tensor({value}, torch::TensorOptions().dtype(torch::kFloat64)).to(device));
    group_.all_reduce_sum(flats);
    const double inv = 1.0 / static_cast<double>(group_.size());
    for (size_t b = 0; b < buckets_.size(); ++b) {
        flats[b].mul_(inv);
        int64_t offset = 0;
        for (const size_t i : buckets_[b]) {
            torch::Tensor& p = params_[i];
            const torch::Tensor avg = flats[b].narrow(0, offset, p.numel()).view_as(p);
            if (p.grad().defined()) {
                p.mutable_grad().copy_(avg);
            } else {
                p.mutable_grad() = avg.clone();
            }
            offset += p.numel();
        }
    }
    const double mean = flats.back().item<double>() * inv;
    reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return mean;
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
    if (values.empty()) {
        return values;
    }
    const torch::Device device = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
    std::vector<torch::Tensor> t{torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat64)).to(device)};
    group_.all_reduce_sum(t);
    const torch::Tensor cpu = t.front().cpu();
    return {cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel()};
}

std::string state_digest(torch::nn::Module& module, torch::optim::Optimizer& optimizer) {
    uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](const torch::Tensor& t) {
        const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
        const auto* p = static_cast<const unsigned char*>(c.data_ptr());
        const size_t n = c.nbytes();
        for (size_t i = 0; i < n; ++i) {
            h = (h ^ p[i]) * 1099511628211ULL;
        }
    };
    for (const auto& t : module.parameters()) {
        mix(t);
    }
    for (const auto& t : module.buffers()) {
        mix(t);
    }
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
                    mix(t);
                }
            }
        }
    }
    return fmt::format("{:016x}", h);
}

} // namespace lola::train
