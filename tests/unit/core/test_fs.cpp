// Atomic files, folder locks and the clean-up of temporaries left by killed processes (docs/reliability.md).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/core/system.h"

namespace fs = std::filesystem;
using namespace lola;

namespace {

class TempFolder {
public:
    TempFolder() {
        char name[] = "/tmp/lola_test_fs_XXXXXX";
        path_ = ::mkdtemp(name);
    }
    ~TempFolder() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

/// The pid of a process that has exited (forked and reaped).
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        out.insert(e.path().filename().string());
    }
    return out;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

} // namespace

TEST(Fs, TemporaryNamesCarryHostAndPid) {
    const fs::path t = core::temp_path_for("/a/b/state.pt");
    EXPECT_EQ(t.parent_path(), fs::path("/a/b"));
    const std::string name = t.filename().string();
    EXPECT_EQ(name.rfind(".state.pt.tmp." + core::host_tag() + "." + std::to_string(::getpid()) + ".", 0), 0u) << name;
    EXPECT_NE(core::temp_path_for("/a/b/state.pt"), t); // unique within the process
    EXPECT_EQ(core::temp_dir_for("/o/euler", "partial").filename().string(),
              ".euler.partial." + core::host_tag() + "." + std::to_string(::getpid()));
    EXPECT_EQ(core::host_tag().find('.'), std::string::npos);
}

TEST(Fs, StaleTemporariesOfDeadProcessesAreRemoved) {
    TempFolder tmp;
    const fs::path& d = tmp.path();
    const std::string& host = core::host_tag();
    const std::string dead = std::to_string(dead_pid()), me = std::to_string(::getpid());
    touch(d / (".state.pt.tmp." + host + "." + dead + ".3")); // dead writer: removed
    touch(d / (".train.h5.tmp." + dead + ".0"));              // the older name form, dead: removed
    fs::create_directories(d / (".euler.partial." + host + "." + dead) / "data");
    fs::create_directories(d / (".euler.partial." + dead)); // older form: removed
    touch(d / (".state.pt.tmp." + host + "." + me + ".1")); // this process: kept
    touch(d / (".state.pt.tmp.otherhost." + dead + ".1"));  // another machine's: kept (its pid means nothing here)
    touch(d / "state.pt");                                  // not a temporary: kept
    touch(d / (".notes.tmp.txt"));                          // not our pattern: kept
    const auto removed = core::remove_stale_temporaries(d);
    EXPECT_EQ(removed.size(), 4u);
    EXPECT_EQ(names_in(d),
              (std::set<std::string>{".state.pt.tmp." + host + "." + me + ".1",
                                     ".state.pt.tmp.otherhost." + dead + ".1", "state.pt", ".notes.tmp.txt"}));
    EXPECT_TRUE(core::remove_stale_temporaries(d / "missing").empty());
}

TEST(Fs, AtomicFileReplacesOnlyOnCommit) {
    TempFolder tmp;
    const fs::path p = tmp.path() / "f.txt";
    core::write_file_atomic(p, "old");
    {
        core::AtomicFile f(p);
        EXPECT_TRUE(f.write("new", 3));
        EXPECT_EQ(core::read_file(p), "old"); // not yet
    }                                         // destroyed uncommitted: the old content stays, no temporary is left
    EXPECT_EQ(core::read_file(p), "old");
    EXPECT_EQ(names_in(tmp.path()), (std::set<std::string>{"f.txt"}));
    core::AtomicFile g(p);
    g.write("new", 3);
    g.commit();
    EXPECT_EQ(core::read_file(p), "new");
    EXPECT_THROW(core::write_file_atomic(tmp.path() / "missing" / "f.txt", "x"), Error);
}

TEST(Fs, WriteErrorsSayDiskFull) {
    const std::string m = core::write_error_message("/x/state.pt", ENOSPC);
    EXPECT_NE(m.find("'/x/state.pt'"), std::string::npos) << m;
    EXPECT_NE(m.find("disk full"), std::string::npos) << m;
    EXPECT_EQ(core::write_error_message("/x/y", EDQUOT).find("disk full") != std::string::npos, true);
    EXPECT_EQ(core::write_error_message("/x/y", EACCES).find("disk full"), std::string::npos);
}

TEST(Fs, FolderLockIsExclusiveAndReleased) {
    TempFolder tmp;
    {
        core::FolderLock first(tmp.path(), "run folder");
        try {
            core::FolderLock second(tmp.path(), "run folder");
            FAIL() << "a second lock on a locked folder must throw";
        } catch (const Error& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("in use by another lola process"), std::string::npos) << m;
            EXPECT_NE(m.find("pid " + std::to_string(::getpid())), std::string::npos) << m;
            EXPECT_NE(m.find(tmp.path().string()), std::string::npos) << m;
        }
        core::FolderLock moved(std::move(first)); // still held through the move
        EXPECT_THROW(core::FolderLock(tmp.path(), "run folder"), Error);
    }
    core::FolderLock again(tmp.path(), "run folder"); // released with its owner
    EXPECT_THROW(core::claim_folder("", "run folder"), UsageError);
    core::FolderLock sub = core::claim_folder(tmp.path() / "a" / "b", "output folder");
    EXPECT_TRUE(fs::is_directory(tmp.path() / "a" / "b"));
}

TEST(System, AvailableMemoryIsPlausible) {
    const int64_t bytes = core::available_memory_bytes();
    // Linux always reports it; a machine that runs this suite has more than 64 MB and less than 1 PB free.
    EXPECT_GT(bytes, int64_t{64} << 20);
    EXPECT_LT(bytes, int64_t{1} << 50);
    EXPECT_EQ(core::format_bytes(2.5e9), "2.50 GB");
    EXPECT_EQ(core::format_bytes(3.26e6), "3.3 MB");
}

#if defined(__GLIBC__)
TEST(System, KeepFreedMemoryServesTensorSizedBlocksFromTheHeapUnlessTheUserConfiguredMalloc) {
    ASSERT_EQ(::setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0", 1), 0);
    EXPECT_FALSE(core::keep_freed_memory()); // the user's choice stands
    ASSERT_EQ(::unsetenv("GLIBC_TUNABLES"), 0);
    ASSERT_TRUE(core::keep_freed_memory());
    // An 8 MiB block (an activation of a small training step) now comes from the heap, not from its own mmap.
    const size_t mapped_before = mallinfo2().hblks;
    void* block = std::malloc(size_t{8} << 20U);
    ASSERT_NE(block, nullptr);
    static_cast<volatile char*>(block)[0] = 1; // used: the compiler may not elide the malloc/free pair
    EXPECT_EQ(mallinfo2().hblks, mapped_before);
    std::free(block);
}
#endif
