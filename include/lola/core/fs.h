// Files that are never half-written, and folders that two processes never write at once.
//
// Temporary names (docs/reliability.md): a file being written goes to `.NAME.tmp.HOST.PID.N` beside its final name
// and is renamed onto it when complete; a folder being built is `.NAME.partial.HOST.PID` (and a folder being replaced
// is moved to `.NAME.old.HOST.PID` for the moment of the swap). HOST is this machine's short host name, PID the
// writing process. A process killed mid-write leaves its temporaries behind; remove_stale_temporaries() removes the
// ones of processes of this host that no longer run.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lola::core {

/// This machine's short host name, reduced to [A-Za-z0-9_-] (the HOST of temporary names).
const std::string& host_tag();

/// A temporary sibling name for `path` (same folder, so that rename is atomic): `.NAME.tmp.HOST.PID.N`.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

/// A temporary sibling folder name for `path`: `.NAME.<tag>.HOST.PID` (tag: partial, old).
std::filesystem::path temp_dir_for(const std::filesystem::path& path, const std::string& tag);

/// Remove the temporaries (files and folders named as above, and the older `.NAME.tmp.PID.N` / `.NAME.partial.PID`
/// forms) that processes of this host left in `dir` and that no longer run. Returns what was removed.
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& dir);

/// A one-line description of a failed write of `path` with `errno` value `err`: "cannot write 'PATH': disk full (No
/// space left on device); free some space and run again" for ENOSPC and EDQUOT, and the system's message otherwise.
std::string write_error_message(const std::filesystem::path& path, int err);

/// Rethrow the failure `e` of writing `path` (through its temporary) as one lola::Error naming `path` itself: "disk full"
/// when the failure was a full disk (as write_error_message), else the original message after the path.
[[noreturn]] void rethrow_write_error(const std::filesystem::path& path, const std::exception& e);

/// Writes a file under a temporary name and renames it onto `path` on commit(); destroyed uncommitted (an exception,
/// a failed write), it removes the temporary, so `path` keeps its previous complete content. Write errors (disk full)
/// are remembered and reported by commit() as lola::Error naming `path`.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    /// Append bytes; returns false (and remembers the error) when the write fails. Never throws.
    bool write(const void* data, size_t size);
    bool failed() const { return err_ != 0; }
    /// fsync, close and rename onto the final path; throws lola::Error on any failure (the temporary is removed).
    void commit();

private:
    std::filesystem::path path_, temp_;
    int fd_ = -1;
    int err_ = 0;
    bool committed_ = false;
};

/// Write `text` to `path` atomically: to a temporary sibling, then rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

std::string read_file(const std::filesystem::path& path);

/// An exclusive lock on a folder (flock on `<dir>/.lock`), held for the object's lifetime. The kernel releases it
/// when the process ends, however it ends, so a killed run never leaves its folder locked. Taking a lock another
/// process holds throws lola::Error naming the folder and that process.
class FolderLock {
public:
    /// `what` names the folder's role in messages, e.g. "run folder".
    FolderLock(const std::filesystem::path& dir, const std::string& what);
    ~FolderLock();
    FolderLock(FolderLock&& other) noexcept;
    FolderLock& operator=(FolderLock&&) = delete;
    FolderLock(const FolderLock&) = delete;
    FolderLock& operator=(const FolderLock&) = delete;

private:
    int fd_ = -1;
};

/// Create `dir` (and parents), lock it (FolderLock), and remove the stale temporaries in it (logged): what every
/// command does with the folder it writes into.
FolderLock claim_folder(const std::filesystem::path& dir, const std::string& what);

} // namespace lola::core
