#include "train_job.h"

#include <torch/cuda.h>

#include "common.h"
#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/log.h"

namespace lola::app {

TrainJob::TrainJob(const TrainRunArgs& args) : args_(args), world_(distributed::world_from_environment()) {
    if (!world_.launched()) {
        folder_.emplace(args.out, args.mode()); // locked for the whole run
    } else if (world_.rank != 0) {
        set_log_level(std::min(log_level(), LogLevel::kWarn)); // rank 0 tells the progress; the others their trouble
    }
}

torch::Device TrainJob::join(const core::Config& cfg, torch::Device device) {
    if (!world_.launched()) {
        return device;
    }
    if (device.is_cuda() && !device.has_index()) {
        LOLA_CHECK_USAGE(static_cast<int64_t>(torch::cuda::device_count()) > world_.local_rank,
                         "LOCAL_RANK={} but this node has {} CUDA devices: launch at most one rank per GPU",
                         world_.local_rank, torch::cuda::device_count());
        device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(world_.local_rank));
    }
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(args_.dist_timeout * 1000));
    group_ = std::make_unique<distributed::Group>(world_, device, timeout);
    if (world_.rank == 0) {
        folder_.emplace(args_.out, args_.mode()); // the others wait for it in check_same below
        LOLA_LOG_INFO("distributed: rank 0 of {} ({} backend, launched by {}, rendezvous {}:{})", world_.size,
                      group_->backend(), world_.launcher, world_.master_addr, world_.master_port);
    }
    // the device may differ between ranks (cuda:LOCAL_RANK): compared as given
    group_->check_same("configurations",
                       fmt::format("{}\nout: {}\nmode: {}", cfg.dump(), args_.out, static_cast<int>(args_.mode())));
    return device;
}

data::Shard TrainJob::shard() const {
    data::Shard s;
    if (group_) {
        s.rank = group_->rank();
        s.count = group_->size();
    }
    return s;
}

std::filesystem::path TrainJob::dir() const { return args_.out; }

} // namespace lola::app
