// WorkerTeam: persistent threads for the Euler solver's row blocks. Private to src/sim.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace lola::sim::euler_detail {

// Persistent threads that run one job per call, job(t) for t = 0 .. n-1, the caller taking t = 0. A call returns
// when every part is done (the synchronisation point between stages). Workers spin briefly before sleeping, since
// the next job usually follows within microseconds.
class WorkerTeam {
public:
    explicit WorkerTeam(int n_threads) : n_(n_threads) {
        for (int t = 1; t < n_; ++t) {
            threads_.emplace_back([this, t] { worker_loop(t); });
        }
    }

    ~WorkerTeam() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            generation_.fetch_add(1, std::memory_order_release);
        }
        start_cv_.notify_all();
        for (std::thread& thread : threads_) {
            thread.join();
        }
    }

    WorkerTeam(const WorkerTeam&) = delete;
    WorkerTeam& operator=(const WorkerTeam&) = delete;

    int size() const { return n_; }

    template <class Job>
    void run(Job&& job) {
        if (n_ == 1) {
            job(0);
            return;
        }
        std::function<void(int)> wrapped = std::forward<Job>(job);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &wrapped;
            error_ = nullptr;
            pending_.store(n_ - 1, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
        }
        start_cv_.notify_all();
        std::exception_ptr own_error;
        try {
            wrapped(0);
        } catch (...) {
            own_error = std::current_exception();
        }
        for (int spin = 0; spin < kSpin && pending_.load(std::memory_order_acquire) != 0; ++spin) {
            pause(spin);
        }
        if (pending_.load(std::memory_order_acquire) != 0) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
        }
        job_ = nullptr;
        if (own_error) {
            std::rethrow_exception(own_error);
        }
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

private:
    static constexpr int kSpin = 4000;

    static void pause(int spin) {
        if (spin > 1000) {
            std::this_thread::yield();
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    void worker_loop(int t) {
        uint64_t seen = 0;
        for (;;) {
            for (int spin = 0; spin < kSpin && generation_.load(std::memory_order_acquire) == seen; ++spin) {
                pause(spin);
            }
            {
                std::unique_lock<std::mutex> lock(mutex_);
                start_cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                seen = generation_.load(std::memory_order_acquire);
                if (stop_) {
                    return;
                }
            }
            try {
                (*job_)(t);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                error_ = std::current_exception();
            }
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(mutex_);
                done_cv_.notify_one();
            }
        }
    }

    int n_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable start_cv_;
    std::condition_variable done_cv_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    const std::function<void(int)>* job_ = nullptr;
    std::exception_ptr error_;
    bool stop_ = false;
};

} // namespace lola::sim::euler_detail
