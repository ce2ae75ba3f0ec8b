#include "lola/distributed/group.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "backends.h"
#include "lola/core/error.h"
#include "lola/core/hash.h"

namespace lola::distributed {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kHeartbeatPeriod{500};

std::string heartbeat_key(int rank) { return fmt::format("lola/heartbeat/{}", rank); }

/// The first line of a c10d message (Gloo's carry a file:line prefix and sometimes a backtrace).
std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

c10::intrusive_ptr<c10d::TCPStore> connect(const World& world, bool server, bool wait_workers, milliseconds timeout) {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(world.master_port);
    o.isServer = server;
    o.numWorkers = static_cast<size_t>(world.size);
    o.waitWorkers = wait_workers;
    o.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(world.master_addr, o);
}

} // namespace

struct Group::Impl {
    World world;
    torch::Device device = torch::kCPU;
    milliseconds timeout{0};
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::Backend> backend;
    std::string backend_name;
    int64_t checks = 0;                                  ///< check_same calls so far (their keys differ)
    std::vector<c10::intrusive_ptr<c10d::Work>> started; ///< start_all_reduce_sum's, not yet waited for

    std::thread heartbeat;
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;

    void start_heartbeat() {
        heartbeat = std::thread([this] {
            try {
                // its own connection: a TCPStore client is not shared between threads
                const auto beat = connect(world, false, false, timeout);
                std::unique_lock<std::mutex> lock(mutex);
                while (!stopping) {
                    lock.unlock();
                    beat->add(heartbeat_key(world.rank), 1);
                    lock.lock();
                    wake.wait_for(lock, kHeartbeatPeriod, [this] { return stopping; });
                }
            } catch (const std::exception&) {
                // the store is gone (rank 0 ended): nothing left to beat for; failed collectives report it
            }
        });
    }

    void stop_heartbeat() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        if (heartbeat.joinable()) {
            heartbeat.join();
        }
    }

    /// The ranks whose heartbeat stopped, as "rank 1" / "ranks 1, 3"; empty when all beat.
    std::string lost_ranks() const {
        try {
            const auto probe = connect(world, false, false, milliseconds(3000));
            auto read = [&] {
                std::vector<int64_t> beats;
                for (int r = 0; r < world.size; ++r) {
                    beats.push_back(probe->add(heartbeat_key(r), 0));
                }
                return beats;
            };
            const std::vector<int64_t> before = read();
            std::this_thread::sleep_for(3 * kHeartbeatPeriod);
            const std::vector<int64_t> after = read();
            std::vector<int> lost;
            for (int r = 0; r < world.size; ++r) {
                if (r != world.rank && after[static_cast<size_t>(r)] == before[static_cast<size_t>(r)]) {
                    lost.push_back(r);
                }
            }
            if (lost.empty()) {
                return {};
            }
            return fmt::format("{} {}", lost.size() == 1 ? "rank" : "ranks", fmt::join(lost, ", "));
        } catch (const std::exception&) {
            return "rank 0 (it hosts the rendezvous store, which no longer answers)";
        }
    }

    /// The lola::Error of a failed collective `what`, naming the lost ranks.
    [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
        const std::string lost = world.size > 1 ? lost_ranks() : std::string();
        if (!lost.empty()) {
            LOLA_THROW(
                "distributed: rank {} lost {} during {} ({}); a rank that died or hung ends the job (timeout "
                "{} s)",
                world.rank, lost, what, first_line(e.what()), timeout.count() / 1000.0);
        }
        LOLA_THROW("distributed: rank {}: {} failed: {}", world.rank, what, first_line(e.what()));
    }

    void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works, const std::string& what) const {
        try {
            for (auto& w : works) {
                w->wait();
            }
        } catch (const std::exception& e) {
            fail(what, e);
        }
    }
};

Group::Group(const World& world, torch::Device device, milliseconds timeout) : impl_(std::make_unique<Impl>()) {
    LOLA_CHECK_USAGE(world.size >= 1 && world.rank >= 0 && world.rank < world.size,
                     "distributed: rank {} is not in a world of {}", world.rank, world.size);
    LOLA_CHECK_USAGE(timeout.count() > 0, "distributed: the timeout must be positive");
    Impl& m = *impl_;
    m.world = world;
    m.device = device;
    m.timeout = timeout;
    try {
        m.store = connect(world, world.rank == 0, true, timeout);
    } catch (const std::exception& e) {
        LOLA_THROW(
            "distributed: rank {} could not {} the rendezvous at {}:{} within {} s: {} (are all {} ranks "
            "started, MASTER_ADDR/MASTER_PORT the same for all, and the port free?)",
            world.rank, world.rank == 0 ? "open" : "reach", world.master_addr, world.master_port,
            timeout.count() / 1000.0, first_line(e.what()), world.size);
    }
    try {
        if (device.is_cuda()) {
            m.backend = make_nccl_backend(m.store, world, timeout);
            m.backend_name = "nccl";
        } else {
            m.backend = make_gloo_backend(m.store, world, timeout);
            m.backend_name = "gloo";
        }
    } catch (const lola::Error&) {
        throw;
    } catch (const std::exception& e) {
        LOLA_THROW("distributed: rank {} could not connect its {} backend: {}", world.rank,
                   device.is_cuda() ? "NCCL" : "Gloo", first_line(e.what()));
    }
    m.start_heartbeat();
}

Group::~Group() { impl_->stop_heartbeat(); }

int Group::rank() const { return impl_->world.rank; }
int Group::size() const { return impl_->world.size; }
const World& Group::world() const { return impl_->world; }
std::string Group::backend() const { return impl_->backend_name; }

void Group::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    try {
        for (auto& t : tensors) {
            std::vector<at::Tensor> one{t};
            works.push_back(impl_->backend->allreduce(one));
        }
    } catch (const std::exception& e) {
        impl_->fail("an all-reduce", e);
    }
    impl_->wait_all(works, "an all-reduce");
}

void Group::start_all_reduce_sum(const torch::Tensor& t) {
    try {
        std::vector<at::Tensor> one{t};
        impl_->started.push_back(impl_->backend->allreduce(one));
    } catch (const std::exception& e) {
        impl_->started.clear();
        impl_->fail("an all-reduce", e);
    }
}

void Group::wait_started() {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    works.swap(impl_->started);
    impl_->wait_all(works, "an all-reduce");
}

void Group::broadcast(std::vector<torch::Tensor>& tensors, int root) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::BroadcastOptions o;
    o.rootRank = root;
    try {
        for (auto& t : tensors) {
            std::vector<at::Tensor> one{t};
            works.push_back(impl_->backend->broadcast(one, o));
        }
    } catch (const std::exception& e) {
        impl_->fail("a broadcast", e);
    }
    impl_->wait_all(works, "a broadcast");
}

void Group::barrier() {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    try {
        works.push_back(impl_->backend->barrier());
    } catch (const std::exception& e) {
        impl_->fail("a barrier", e);
    }
    impl_->wait_all(works, "a barrier");
}

void Group::check_same(const std::string& what, const std::string& text) {
    Impl& m = *impl_;
    const std::string prefix = fmt::format("lola/check/{}/", m.checks++);
    core::Fnv1a hash; // what goes through the store: a hash, not the text
    hash.add(text);
    const std::string mine = hash.hex();
    std::vector<std::string> keys;
    std::vector<std::string> hashes;
    try {
        m.store->set(prefix + std::to_string(m.world.rank), std::vector<uint8_t>(mine.begin(), mine.end()));
        for (int r = 0; r < m.world.size; ++r) {
            keys.push_back(prefix + std::to_string(r));
        }
        m.store->wait(keys, m.timeout);
        for (const auto& k : keys) {
            const std::vector<uint8_t> v = m.store->get(k);
            hashes.emplace_back(v.begin(), v.end());
        }
    } catch (const std::exception& e) {
        m.fail(fmt::format("the comparison of the {}", what), e);
    }
    std::vector<int> differ;
    for (int r = 1; r < m.world.size; ++r) {
        if (hashes[static_cast<size_t>(r)] != hashes[0]) {
            differ.push_back(r);
        }
    }
    LOLA_CHECK(differ.empty(),
               "distributed: the {} of rank{} {} differ{} from rank 0's (every rank must run the same command with "
               "the same configuration and files)",
               what, differ.size() == 1 ? "" : "s", fmt::join(differ, ", "), differ.size() == 1 ? "s" : "");
}

} // namespace lola::distributed
