#include "lola/core/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "lola/core/error.h"
#include "lola/core/log.h"

namespace lola::core {

namespace fs = std::filesystem;

const std::string& host_tag() {
    static const std::string tag = [] {
        char buf[256] = {0};
        std::string host = ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("localhost");
        host = host.substr(0, host.find('.'));
        std::string out;
        for (char c : host) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
            out += ok ? c : '_';
        }
        return out.empty() ? std::string("localhost") : out;
    }();
    return tag;
}

fs::path temp_path_for(const fs::path& path) {
    static std::atomic<unsigned> counter{0};
    return path.parent_path() /
           fmt::format(".{}.tmp.{}.{}.{}", path.filename().string(), host_tag(), ::getpid(), counter++);
}

fs::path temp_dir_for(const fs::path& path, const std::string& tag) {
    return path.parent_path() / fmt::format(".{}.{}.{}.{}", path.filename().string(), tag, host_tag(), ::getpid());
}

namespace {

bool process_alive(long pid) {
    if (pid <= 0) {
        return true; // not ours to judge
    }
    if (pid == static_cast<long>(::getpid())) {
        return true;
    }
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

} // namespace

std::vector<fs::path> remove_stale_temporaries(const fs::path& dir) {
    static const std::regex file_new(R"(^\..+\.tmp\.([A-Za-z0-9_-]+)\.([0-9]+)\.[0-9]+$)");
    static const std::regex dir_new(R"(^\..+\.(partial|old)\.([A-Za-z0-9_-]+)\.([0-9]+)$)");
    static const std::regex file_old(R"(^\..+\.tmp\.([0-9]+)\.[0-9]+$)");
    static const std::regex dir_old(R"(^\..+\.(partial|old)\.([0-9]+)$)");
    std::vector<fs::path> removed;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return removed;
    }
    std::vector<fs::path> candidates;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        std::smatch m;
        std::string host;
        long pid = 0;
        if (std::regex_match(name, m, file_new)) {
            host = m[1];
            pid = std::stol(m[2]);
        } else if (std::regex_match(name, m, dir_new)) {
            host = m[2];
            pid = std::stol(m[3]);
        } else if (std::regex_match(name, m, file_old)) {
            host = host_tag();
            pid = std::stol(m[1]);
        } else if (std::regex_match(name, m, dir_old)) {
            host = host_tag();
            pid = std::stol(m[2]);
        } else {
            continue;
        }
        if (host == host_tag() && !process_alive(pid)) {
            candidates.push_back(e.path());
        }
    }
    for (const auto& p : candidates) {
        std::error_code rm;
        fs::remove_all(p, rm);
        if (!rm) {
            removed.push_back(p);
        }
    }
    return removed;
}

std::string write_error_message(const fs::path& path, int err) {
    if (err == ENOSPC || err == EDQUOT) {
        return fmt::format("cannot write '{}': disk full ({}); free some space and run again", path.string(),
                           std::strerror(err));
    }
    if (err == EFBIG) {
        return fmt::format(
            "cannot write '{}': file too large for this filesystem or the process's file size limit "
            "({})",
            path.string(), std::strerror(err));
    }
    return fmt::format("cannot write '{}': {}", path.string(), std::strerror(err));
}

void rethrow_write_error(const fs::path& path, const std::exception& e) {
    const std::string what = e.what();
    if (what.find("disk full") != std::string::npos) {
        LOLA_THROW("{}", write_error_message(path, ENOSPC));
    }
    if (what.find("file too large") != std::string::npos) {
        LOLA_THROW("{}", write_error_message(path, EFBIG));
    }
    LOLA_THROW("cannot write '{}': {}", path.string(), what);
}

// ---------------------------------------------------------------------------------------------------------------------
AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)), temp_(temp_path_for(path_)) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        const int err = errno;
        LOLA_THROW("{} (is the folder there and writable?)", write_error_message(path_, err));
    }
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    if (!committed_) {
        std::error_code ec;
        fs::remove(temp_, ec);
    }
}

bool AtomicFile::write(const void* data, size_t size) {
    if (err_ != 0) {
        return false;
    }
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd_, p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            err_ = errno;
            return false;
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

void AtomicFile::commit() {
    LOLA_CHECK(!committed_, "'{}' was already committed", path_.string());
    if (err_ == 0 && ::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
        err_ = errno;
    }
    const int closed = ::close(fd_);
    fd_ = -1;
    if (err_ == 0 && closed != 0) {
        err_ = errno;
    }
    if (err_ != 0) {
        std::error_code ec;
        fs::remove(temp_, ec);
        LOLA_THROW("{}", write_error_message(path_, err_));
    }
    std::error_code ec;
    fs::rename(temp_, path_, ec);
    if (ec) {
        fs::remove(temp_, ec);
        LOLA_THROW("cannot rename a temporary file onto '{}': {}", path_.string(), ec.message());
    }
    committed_ = true;
}

void write_file_atomic(const fs::path& path, const std::string& text) {
    AtomicFile out(path);
    out.write(text.data(), text.size());
    out.commit();
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    LOLA_CHECK(in.good(), "cannot read '{}' (does it exist?)", path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---------------------------------------------------------------------------------------------------------------------
FolderLock::FolderLock(const fs::path& dir, const std::string& what) {
    const fs::path path = dir / ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        const int err = errno;
        LOLA_THROW("cannot lock {} '{}': {}", what, dir.string(), std::strerror(err));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buf[256] = {0};
        const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) {
            holder.pop_back();
        }
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            LOLA_THROW(
                "{} '{}' is in use by another lola process{}; wait for it to finish or stop it, or choose "
                "another folder",
                what, dir.string(), holder.empty() ? "" : fmt::format(" ({})", holder));
        }
        LOLA_THROW("cannot lock {} '{}': {}", what, dir.string(), std::strerror(err));
    }
    const std::string me = fmt::format("pid {} on {}\n", ::getpid(), host_tag());
    if (::ftruncate(fd_, 0) == 0) {
        const ssize_t ignored = ::pwrite(fd_, me.data(), me.size(), 0);
        (void)ignored; // the holder's name is only for messages
    }
}

FolderLock::~FolderLock() {
    if (fd_ >= 0) {
        ::close(fd_); // releases the flock
    }
}

FolderLock::FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FolderLock claim_folder(const fs::path& dir, const std::string& what) {
    LOLA_CHECK_USAGE(!dir.empty(), "the {} is empty: name a folder", what);
    std::error_code ec;
    fs::create_directories(dir, ec);
    LOLA_CHECK(!ec && fs::is_directory(dir), "cannot create the {} '{}': {}", what, dir.string(),
               ec ? ec.message() : "a file of that name exists");
    FolderLock lock(dir, what);
    for (const fs::path& p : remove_stale_temporaries(dir)) {
        LOLA_LOG_INFO("removed '{}', left by a process that no longer runs", p.string());
    }
    return lock;
}

} // namespace lola::core
