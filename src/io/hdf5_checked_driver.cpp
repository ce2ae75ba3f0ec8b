// The read-only checking file driver (src/io/hdf5_checked_driver.h). Layouts follow the HDF5 File Format
// Specification (superblock, section II.A; global heap, section III.E).
#include "hdf5_checked_driver.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <new>
#include <set>
#include <vector>

namespace lola::io::h5::detail {

namespace {

struct CheckedFile {
    H5FD_t pub; // first: HDF5 sees a CheckedFile* as an H5FD_t*
    int fd = -1;
    haddr_t eoa = 0;
    haddr_t eof = 0;
    dev_t device = 0;
    ino_t inode = 0;
    unsigned size_of_offsets = 8; // from the superblock once it is read; 8 in every writer's default
    unsigned size_of_lengths = 8;
    std::map<haddr_t, std::vector<uint64_t>> heaps; // checked global heap collections: object sizes by index
    std::map<haddr_t, uint64_t> continuations;      // object header continuation chunks seen so far: their lengths
};

// Largest address the driver handles (POSIX file offsets are signed 64-bit).
constexpr haddr_t kMaxAddr = (static_cast<haddr_t>(1) << 62) - 1;

void push_error(const char* func, hid_t major, hid_t minor, const std::string& message) {
    H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, major, minor, "%s", message.c_str());
}

uint64_t decode_le(const uint8_t* p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; ++k) {
        v |= static_cast<uint64_t>(p[k]) << (8 * k);
    }
    return v;
}

uint64_t align8(uint64_t x) { return (x + 7) / 8 * 8; }

// pread until `size` bytes are in or the file ends; the rest is zero-filled, as HDF5's sec2 driver does.
bool read_fully(int fd, haddr_t addr, size_t size, uint8_t* out) {
    while (size > 0) {
        const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(addr));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        if (n == 0) {
            std::memset(out, 0, size);
            return true;
        }
        out += n;
        size -= static_cast<size_t>(n);
        addr += static_cast<haddr_t>(n);
    }
    return true;
}

void note_superblock(CheckedFile& f, const uint8_t* p, size_t size) {
    static const uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (size < 16 || std::memcmp(p, kSignature, 8) != 0) {
        return;
    }
    const unsigned version = p[8];
    const unsigned offsets = version <= 1 ? p[13] : p[9];
    const unsigned lengths = version <= 1 ? p[14] : p[10];
    if (offsets == 2 || offsets == 4 || offsets == 8) {
        f.size_of_offsets = offsets;
    }
    if (lengths == 2 || lengths == 4 || lengths == 8) {
        f.size_of_lengths = lengths;
    }
}

// ---- global heap collections (format spec III.E) ----

// Reads the collection at `addr`, checks it and records its object sizes; "" when fine, else what is wrong.
std::string load_heap(CheckedFile& f, haddr_t addr, const std::vector<uint64_t>** sizes) {
    auto it = f.heaps.find(addr);
    if (it == f.heaps.end()) {
        const unsigned L = f.size_of_lengths;
        uint8_t head[16] = {};
        if (addr >= f.eof || f.eof - addr < 8 + L || !read_fully(f.fd, addr, 8 + L, head)) {
            return "no global heap collection at address " + std::to_string(addr);
        }
        static const uint8_t kHeapStart[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
        if (std::memcmp(head, kHeapStart, 8) != 0) {
            return "no global heap collection at address " + std::to_string(addr);
        }
        const uint64_t total = decode_le(head + 8, L);
        if (total > f.eof - addr) {
            return "global heap collection at address " + std::to_string(addr) +
                   " is larger than what is left of "
                   "the file";
        }
        std::vector<uint8_t> image(static_cast<size_t>(total));
        if (!read_fully(f.fd, addr, image.size(), image.data())) {
            return std::string("read failed: ") + std::strerror(errno);
        }
        std::vector<uint64_t> objects;
        std::string why = check_global_heap(image.data(), image.size(), L, &objects);
        if (!why.empty()) {
            return "corrupt global heap collection at address " + std::to_string(addr) + ": " + why;
        }
        it = f.heaps.emplace(addr, std::move(objects)).first;
    }
    *sizes = &it->second;
    return {};
}

// ---- object headers, version 1 (format spec IV.A.1.a, messages IV.A.2) ----
//
// HDF5 1.10 decodes some fields of object header messages without checking them against the message: a datatype's
// size, an enum's base type, and the variable-length values stored in attributes (a length up to 4 GiB that it
// allocates and copies before reading the heap, a heap object index it uses unchecked). Version 2 headers carry a
// checksum that HDF5 verifies; version 1 headers (the default of every writer, lola's included) do not, so a flipped
// bit reaches those decoders. The checks below refuse what HDF5 2.0 refuses or would crash on.

struct Reader {
    const uint8_t* p;
    size_t n;
    size_t pos = 0;
    bool ok = true;
    uint64_t take(unsigned bytes) {
        if (!ok || bytes > n - pos) {
            ok = false;
            return 0;
        }
        const uint64_t v = decode_le(p + pos, bytes);
        pos += bytes;
        return v;
    }
    void skip(uint64_t bytes) {
        if (!ok || bytes > n - pos) {
            ok = false;
            return;
        }
        pos += static_cast<size_t>(bytes);
    }
};

// The size field of a datatype message (bytes 4 to 7).
uint64_t type_size_of(const uint8_t* p) { return decode_le(p + 4, 4); }

// Checks a datatype message (IV.A.2.d) at r; returns "" or what is wrong, and its size in bytes in *size.
std::string check_datatype(Reader& r, int depth, uint64_t* size, unsigned* cls_out, unsigned* vlen_kind) {
    if (depth > 8) {
        return "datatype nested too deeply";
    }
    const uint64_t head = r.take(4);
    const uint64_t type_size = r.take(4);
    if (!r.ok) {
        return "datatype runs past its message";
    }
    const unsigned cls = static_cast<unsigned>(head & 0x0f);
    const unsigned bits = static_cast<unsigned>(head >> 8);
    *size = type_size;
    *cls_out = cls;
    switch (cls) {
        case 0:   // fixed-point
        case 1: { // floating-point
            const uint64_t offset = r.take(2), precision = r.take(2);
            if (!r.ok || type_size == 0 || type_size > 16 || precision == 0 || offset + precision > 8 * type_size) {
                return "a number type of " + std::to_string(type_size) + " bytes with " + std::to_string(precision) +
                       " bits at offset " + std::to_string(offset);
            }
            break;
        }
        case 8: { // enumeration: its base type must be an integer of the same size
            uint64_t base_size = 0;
            unsigned base_cls = 0, unused = 0;
            std::string why = check_datatype(r, depth + 1, &base_size, &base_cls, &unused);
            if (!why.empty()) {
                return why;
            }
            if (base_cls != 0 || base_size != type_size) {
                return "an enum of " + std::to_string(type_size) + " bytes over a base type of " +
                       std::to_string(base_size) + " bytes";
            }
            // Member names, each non-empty and NUL-terminated (padded to 8 bytes before version 3), then the values.
            const unsigned version = static_cast<unsigned>((head >> 4) & 0x0f);
            const uint64_t members = bits & 0xffff;
            for (uint64_t m = 0; m < members; ++m) {
                const uint8_t* start = r.p + r.pos;
                const void* nul = r.ok ? std::memchr(start, 0, r.n - r.pos) : nullptr;
                if (nul == nullptr || nul == start) {
                    return "an enum member name that is empty or runs past its message";
                }
                const uint64_t length = static_cast<uint64_t>(static_cast<const uint8_t*>(nul) - start) + 1;
                r.skip(version >= 3 ? length : align8(length));
            }
            r.skip(members * type_size);
            if (!r.ok) {
                return "enum values that run past their message";
            }
            break;
        }
        case 9: { // variable-length: sequence (0) or string (1) of a base type
            *vlen_kind = bits & 0x0f;
            uint64_t base_size = 0;
            unsigned base_cls = 0, unused = 0;
            std::string why = check_datatype(r, depth + 1, &base_size, &base_cls, &unused);
            if (!why.empty()) {
                return why;
            }
            *size = base_size; // callers need the element size of the sequence
            break;
        }
        default:
            break; // other classes are left to HDF5
    }
    return {};
}

// The number of elements of a dataspace message (IV.A.2.b); false when it does not parse.
bool dataspace_points(Reader r, unsigned size_of_lengths, uint64_t* points) {
    const uint64_t version = r.take(1), rank = r.take(1);
    r.take(1); // flags
    bool null_space = false;
    if (version == 1) {
        r.skip(5);
    } else if (version == 2) {
        null_space = r.take(1) == 2;
    } else {
        return false;
    }
    uint64_t n = null_space ? 0 : 1;
    for (uint64_t k = 0; k < rank && r.ok; ++k) {
        const uint64_t d = r.take(size_of_lengths);
        if (__builtin_mul_overflow(n, d, &n)) {
            return false;
        }
    }
    *points = n;
    return r.ok && rank <= 32;
}

// Checks an attribute message (IV.A.2.m): its parts fit in the message, its datatype, and each variable-length
// value's heap reference and length.
std::string check_attribute(CheckedFile& f, const uint8_t* p, size_t n) {
    Reader r{p, n};
    const uint64_t version = r.take(1), flags = r.take(1);
    const uint64_t name_size = r.take(2), type_size = r.take(2), space_size = r.take(2);
    if (version == 3) {
        r.take(1); // name character set
    }
    if (!r.ok || version < 1 || version > 3) {
        return version < 1 || version > 3 ? "" : "attribute message too short"; // unknown versions: HDF5 refuses
    }
    const auto pad = [version](uint64_t x) { return version == 1 ? align8(x) : x; };
    const size_t name_at = r.pos;
    r.skip(pad(name_size));
    const size_t type_at = r.pos;
    r.skip(pad(type_size));
    const size_t space_at = r.pos;
    r.skip(pad(space_size));
    if (!r.ok) {
        return "attribute name, datatype and dataspace (" + std::to_string(name_size) + ", " +
               std::to_string(type_size) + ", " + std::to_string(space_size) + " bytes) exceed its message of " +
               std::to_string(n) + " bytes";
    }
    (void)name_at;
    if (version >= 2 && (flags & 0x03) != 0) {
        return {}; // shared datatype or dataspace: stored elsewhere
    }
    Reader tr{p + type_at, static_cast<size_t>(type_size)};
    uint64_t element = 0;
    unsigned cls = 0, vlen_kind = 0;
    std::string why = check_datatype(tr, 0, &element, &cls, &vlen_kind);
    if (!why.empty()) {
        return "attribute datatype: " + why;
    }
    uint64_t points = 0;
    if (!dataspace_points(Reader{p + space_at, static_cast<size_t>(space_size)}, f.size_of_lengths, &points)) {
        return {};
    }
    // The values follow: points x the stored element size (a variable-length value is stored as its length (4
    // bytes), its collection's address and its object index (4 bytes)). HDF5 1.10 copies them without comparing
    // with the message's size.
    const uint64_t stride = cls == 9 ? 4 + f.size_of_offsets + 4 : type_size_of(p + type_at);
    uint64_t data_bytes = 0;
    if (stride > 0 && (__builtin_mul_overflow(points, stride, &data_bytes) || data_bytes > n - r.pos)) {
        return "attribute values (" + std::to_string(points) + " of " + std::to_string(stride) +
               " bytes) exceed its "
               "message of " +
               std::to_string(n) + " bytes";
    }
    if (cls != 9) {
        return {};
    }
    for (uint64_t i = 0; i < points; ++i) {
        const uint64_t length = r.take(4);
        const uint64_t heap = r.take(f.size_of_offsets);
        const uint64_t index = r.take(4);
        if (!r.ok) {
            return "attribute values (" + std::to_string(points) + " of " + std::to_string(stride) +
                   " bytes) exceed its message";
        }
        if (heap == 0) {
            continue; // a null value (HDF5 reads the heap whenever the address is set, even for a length of 0)
        }
        const std::vector<uint64_t>* sizes = nullptr;
        why = load_heap(f, heap, &sizes);
        if (!why.empty()) {
            return "attribute value " + std::to_string(i) + ": " + why;
        }
        uint64_t bytes = 0;
        if (index == 0 || index >= sizes->size() || (*sizes)[index] == UINT64_MAX ||
            __builtin_mul_overflow(length, std::max<uint64_t>(element, 1), &bytes) || bytes > (*sizes)[index]) {
            return "attribute value " + std::to_string(i) + " claims " + std::to_string(length) +
                   " elements in global heap object " + std::to_string(index) + " at address " + std::to_string(heap) +
                   ", which does not hold them";
        }
    }
    return {};
}

// Walks the messages of one chunk (v1: 2-byte type, 2-byte size, flags, 3 reserved bytes, then the data), then the
// chunks its continuation messages point to (each once per header: `visited`).
std::string check_chunk(CheckedFile& f, const uint8_t* p, size_t n, std::set<haddr_t>& visited) {
    size_t pos = 0;
    while (pos + 8 <= n) {
        const unsigned type = static_cast<unsigned>(decode_le(p + pos, 2));
        const size_t size = static_cast<size_t>(decode_le(p + pos + 2, 2));
        const unsigned flags = p[pos + 4];
        const uint8_t* data = p + pos + 8;
        if (size > n - pos - 8) {
            return {}; // HDF5 checks the message table itself ("corrupt object header")
        }
        const bool shared = (flags & 0x02) != 0;
        std::string why;
        if (type == 0x0003 && !shared) { // datatype
            Reader r{data, size};
            uint64_t bytes = 0;
            unsigned cls = 0, kind = 0;
            why = check_datatype(r, 0, &bytes, &cls, &kind);
        } else if (type == 0x000C && !shared) { // attribute
            why = check_attribute(f, data, size);
        } else if (type == 0x0010 && visited.size() < 1024) { // continuation: the next chunk's address and length
            Reader r{data, size};
            const uint64_t at = r.take(f.size_of_offsets), length = r.take(f.size_of_lengths);
            if (r.ok && at < f.eof && length <= f.eof - at && length <= (64u << 20) && visited.insert(at).second) {
                f.continuations[at] = length;
                std::vector<uint8_t> chunk(static_cast<size_t>(length));
                if (read_fully(f.fd, at, chunk.size(), chunk.data())) {
                    why = check_chunk(f, chunk.data(), chunk.size(), visited);
                }
            }
        }
        if (!why.empty()) {
            return why;
        }
        pos += 8 + size;
    }
    return {};
}

// A local heap (format spec III.D, where a group's link names live): "HEAP", version 0, 3 reserved bytes, the data
// segment's size, the free list's offset and the data segment's address. HDF5 allocates the declared size before it
// reads it: the segment must lie inside the file.
std::string check_local_heap(const CheckedFile& f, haddr_t addr, const uint8_t* p, size_t size) {
    const unsigned L = f.size_of_lengths, O = f.size_of_offsets;
    if (size < 8 + 2 * L + O || std::memcmp(p, "HEAP", 4) != 0 || p[4] != 0) {
        return {};
    }
    const uint64_t bytes = decode_le(p + 8, L);
    const uint64_t at = decode_le(p + 8 + 2 * L, O);
    if (at > f.eof || bytes > f.eof - at) {
        return "corrupt local heap at address " + std::to_string(addr) + ": its data segment of " +
               std::to_string(bytes) + " bytes at address " + std::to_string(at) + " lies past the end of the file (" +
               std::to_string(f.eof) + " bytes)";
    }
    return {};
}

// A version 1 object header at `addr` (its first bytes in `first`): its first chunk and every continuation.
std::string check_object_header(CheckedFile& f, haddr_t addr, const uint8_t* first, size_t size) {
    // A version 1 prefix: version 1, a reserved byte (HDF5 does not check it), the message count, the reference count,
    // the first chunk's size, 4 bytes of padding. A continuation chunk, also read as an object header, is read whole
    // at an address and with a length recorded when its header's first chunk was checked; a prefix is read
    // speculatively (512 bytes, or up to the end of the file). A corrupt continuation may point into another header:
    // the length tells them apart.
    const auto known = f.continuations.find(addr);
    if (size < 16 || first[0] != 1 || (known != f.continuations.end() && known->second == size)) {
        return {}; // not a version 1 prefix (version 2 headers start with "OHDR" and carry a checksum)
    }
    const uint64_t chunk = decode_le(first + 8, 4);
    if (chunk > f.eof || addr + 16 > f.eof || chunk > f.eof - addr - 16) {
        return {}; // HDF5 refuses a header past the end of the file itself
    }
    std::vector<uint8_t> image(static_cast<size_t>(chunk));
    if (!read_fully(f.fd, addr + 16, image.size(), image.data())) {
        return std::string("read failed: ") + std::strerror(errno);
    }
    std::set<haddr_t> visited{addr};
    const std::string why = check_chunk(f, image.data(), image.size(), visited);
    return why.empty() ? why : "corrupt object header at address " + std::to_string(addr) + ": " + why;
}

H5FD_t* checked_open(const char* name, unsigned flags, hid_t, haddr_t maxaddr) {
    if ((flags & (H5F_ACC_RDWR | H5F_ACC_TRUNC | H5F_ACC_CREAT | H5F_ACC_EXCL)) != 0) {
        push_error(__func__, H5E_VFL, H5E_CANTOPENFILE, "lola's checking driver opens files read-only");
        return nullptr;
    }
    if (maxaddr == 0 || maxaddr == HADDR_UNDEF || maxaddr > kMaxAddr) {
        maxaddr = kMaxAddr;
    }
    const int fd = ::open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        push_error(__func__, H5E_VFL, H5E_CANTOPENFILE, std::string("cannot open: ") + std::strerror(errno));
        return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) < 0) {
        push_error(__func__, H5E_VFL, H5E_CANTOPENFILE, std::string("cannot stat: ") + std::strerror(errno));
        ::close(fd);
        return nullptr;
    }
    auto* f = new (std::nothrow) CheckedFile();
    if (f == nullptr) {
        ::close(fd);
        push_error(__func__, H5E_VFL, H5E_CANTOPENFILE, "out of memory");
        return nullptr;
    }
    f->fd = fd;
    f->eof = static_cast<haddr_t>(st.st_size);
    f->device = st.st_dev;
    f->inode = st.st_ino;
    return &f->pub;
}

herr_t checked_close(H5FD_t* file) {
    auto* f = reinterpret_cast<CheckedFile*>(file);
    const int rc = ::close(f->fd);
    delete f;
    return rc < 0 ? -1 : 0;
}

int checked_cmp(const H5FD_t* a, const H5FD_t* b) {
    const auto* f = reinterpret_cast<const CheckedFile*>(a);
    const auto* g = reinterpret_cast<const CheckedFile*>(b);
    if (f->device != g->device) {
        return f->device < g->device ? -1 : 1;
    }
    if (f->inode != g->inode) {
        return f->inode < g->inode ? -1 : 1;
    }
    return 0;
}

herr_t checked_query(const H5FD_t*, unsigned long* flags) {
    // No H5FD_FEAT_ACCUMULATE_METADATA: every metadata read reaches checked_read at its own address.
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

haddr_t checked_get_eoa(const H5FD_t* file, H5FD_mem_t) { return reinterpret_cast<const CheckedFile*>(file)->eoa; }

herr_t checked_set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t addr) {
    reinterpret_cast<CheckedFile*>(file)->eoa = addr;
    return 0;
}

haddr_t checked_get_eof(const H5FD_t* file, H5FD_mem_t) { return reinterpret_cast<const CheckedFile*>(file)->eof; }

herr_t checked_get_handle(H5FD_t* file, hid_t, void** handle) {
    *handle = &reinterpret_cast<CheckedFile*>(file)->fd;
    return 0;
}

herr_t checked_read(H5FD_t* file, H5FD_mem_t type, hid_t, haddr_t addr, size_t size, void* buffer) {
    auto* f = reinterpret_cast<CheckedFile*>(file);
    if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr || addr + size > f->eoa) {
        push_error(__func__, H5E_VFL, H5E_READERROR, "read beyond the end of the file's address space");
        return -1;
    }
    auto* out = static_cast<uint8_t*>(buffer);
    if (!read_fully(f->fd, addr, size, out)) {
        push_error(__func__, H5E_VFL, H5E_READERROR, std::string("read failed: ") + std::strerror(errno));
        return -1;
    }
    if (type == H5FD_MEM_SUPER) {
        note_superblock(*f, out, size);
    }
    // HDF5 loads a global heap collection with a first read at its address (the signature, then the collection
    // size), then reads the rest: the first read checks the whole collection. HDF5 hands global heap reads to the
    // driver as raw data (H5FD_MEM_DRAW), so the signature, version 1 and the zero reserved bytes identify them; a
    // raw data block cannot start so by chance in practice (the next float32 would be the denormal 1.4e-45).
    static const uint8_t kHeapStart[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
    std::string why;
    if ((type == H5FD_MEM_GHEAP || type == H5FD_MEM_DRAW) && size >= 8 && std::memcmp(out, kHeapStart, 8) == 0) {
        const std::vector<uint64_t>* sizes = nullptr;
        why = load_heap(*f, addr, &sizes);
    } else if (type == H5FD_MEM_OHDR) {
        why = check_object_header(*f, addr, out, size);
    } else if (type == H5FD_MEM_LHEAP) {
        why = check_local_heap(*f, addr, out, size);
    }
    if (!why.empty()) {
        push_error(__func__, H5E_VFL, H5E_READERROR, why);
        return -1;
    }
    return 0;
}

herr_t checked_write(H5FD_t*, H5FD_mem_t, hid_t, haddr_t, size_t, const void*) {
    push_error(__func__, H5E_VFL, H5E_WRITEERROR, "lola's checking driver opens files read-only");
    return -1;
}

herr_t checked_truncate(H5FD_t*, hid_t, hbool_t) { return 0; }

herr_t checked_lock(H5FD_t* file, hbool_t rw) {
    // As HDF5's sec2 driver: a shared lock for readers, ignored where the filesystem has no locks.
    auto* f = reinterpret_cast<CheckedFile*>(file);
    if (::flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0 && errno != ENOSYS) {
        push_error(__func__, H5E_VFL, H5E_CANTLOCKFILE, std::string("unable to lock file: ") + std::strerror(errno));
        return -1;
    }
    return 0;
}

herr_t checked_unlock(H5FD_t* file) {
    auto* f = reinterpret_cast<CheckedFile*>(file);
    if (::flock(f->fd, LOCK_UN) < 0 && errno != ENOSYS) {
        push_error(__func__, H5E_VFL, H5E_CANTUNLOCKFILE,
                   std::string("unable to unlock file: ") + std::strerror(errno));
        return -1;
    }
    return 0;
}

H5FD_class_t make_class() {
    H5FD_class_t c{};
    c.name = "lola_checked";
    c.maxaddr = kMaxAddr;
    c.fc_degree = H5F_CLOSE_WEAK;
    c.open = checked_open;
    c.close = checked_close;
    c.cmp = checked_cmp;
    c.query = checked_query;
    c.get_eoa = checked_get_eoa;
    c.set_eoa = checked_set_eoa;
    c.get_eof = checked_get_eof;
    c.get_handle = checked_get_handle;
    c.read = checked_read;
    c.write = checked_write;
    c.truncate = checked_truncate;
    c.lock = checked_lock;
    c.unlock = checked_unlock;
    for (auto& m : c.fl_map) {
        m = H5FD_MEM_DEFAULT;
    }
    return c;
}

} // namespace

std::string check_global_heap(const uint8_t* image, size_t bytes, unsigned size_of_lengths,
                              std::vector<uint64_t>* objects) {
    const uint64_t header = align8(4 + 1 + 3 + size_of_lengths);        // signature, version, reserved, collection size
    const uint64_t object_header = align8(2 + 2 + 4 + size_of_lengths); // index, references, reserved, object size
    if (bytes < header) {
        return "it is smaller than its own header";
    }
    if (image[4] != 1) {
        return "unknown version " + std::to_string(image[4]);
    }
    uint64_t pos = header;
    while (pos < bytes) {
        const uint64_t left = bytes - pos;
        if (left < object_header) {
            break; // the tail too small for an object is free space
        }
        const unsigned index = static_cast<unsigned>(decode_le(image + pos, 2));
        const uint64_t size = decode_le(image + pos + 8, size_of_lengths);
        if (size > left) {
            return "object " + std::to_string(index) + " claims " + std::to_string(size) + " bytes, " +
                   std::to_string(left) + " are left";
        }
        // Object 0 is the free space, whose size includes its header; the others are padded to 8 bytes.
        const uint64_t need = index > 0 ? object_header + align8(size) : size;
        if (need == 0 || need > left) {
            return "object " + std::to_string(index) + " of " + std::to_string(size) + " bytes does not fit in the " +
                   std::to_string(left) + " bytes left";
        }
        if (objects != nullptr && index > 0) {
            if (objects->size() <= index) {
                objects->resize(index + 1, UINT64_MAX); // UINT64_MAX: no such object
            }
            (*objects)[index] = size;
        }
        pos += need;
    }
    return {};
}

hid_t checked_driver() {
    static const H5FD_class_t cls = make_class();
    static const hid_t id = H5FDregister(&cls);
    return id;
}

} // namespace lola::io::h5::detail
