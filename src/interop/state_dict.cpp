#include "lola/interop/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <variant>

#include "lola/core/error.h"
#include "lola/core/fs.h"

namespace lola::interop {

namespace fs = std::filesystem;

namespace {

// ---- pickle values --------------------------------------------------------------------------------------------------

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Mark {};
struct Global {
    std::string module, name;
    std::string dotted() const { return module + "." + name; }
};
struct Storage {
    torch::Tensor data; // 1-d, its dtype, all of the storage's elements
};
using Items = std::vector<ValuePtr>;
struct Tuple {
    Items items;
};
struct List {
    Items items;
};
struct Dict {
    std::vector<std::pair<ValuePtr, ValuePtr>> items;
};

struct Value {
    std::variant<std::monostate, bool, int64_t, double, std::string, Tuple, List, Dict, Global, Storage, torch::Tensor,
                 Mark>
        v;
    bool is_none() const { return std::holds_alternative<std::monostate>(v); }
    const char* type() const {
        static const char* names[] = {"None", "bool", "int",    "float",   "str",    "tuple",
                                      "list", "dict", "global", "storage", "tensor", "mark"};
        return names[v.index()];
    }
};

template <class T>
ValuePtr make(T x) {
    auto p = std::make_shared<Value>();
    p->v = std::move(x);
    return p;
}

/// The storage classes torch.save names, and their dtypes (read_state_dict and write_state_dict).
constexpr std::pair<const char*, torch::ScalarType> kStorageTypes[] = {
    {"FloatStorage", torch::kFloat32},     {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kFloat16},
    {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64},     {"IntStorage", torch::kInt32},
    {"ShortStorage", torch::kInt16},       {"CharStorage", torch::kInt8},      {"ByteStorage", torch::kUInt8},
    {"BoolStorage", torch::kBool}};

torch::ScalarType storage_dtype(const std::string& name, const std::string& file) {
    for (const auto& [storage, dtype] : kStorageTypes) {
        if (name == storage) {
            return dtype;
        }
    }
    LOLA_THROW("'{}': unsupported storage type torch.{}", file, name);
}

/// Interprets the opcodes of a state-dict pickle. Storages are read from the archive by key.
class Unpickler {
public:
    Unpickler(const std::string& bytes, caffe2::serialize::PyTorchStreamReader& archive, std::string file)
        : bytes_(bytes), archive_(archive), file_(std::move(file)) {}

    ValuePtr run() {
        for (;;) {
            const auto op = static_cast<unsigned char>(next(1)[0]);
            switch (op) {
                case 0x80: // PROTO
                    next(1);
                    break;
                case 0x95: // FRAME
                    next(8);
                    break;
                case '(': // MARK
                    push(make(Mark{}));
                    break;
                case '.': { // STOP
                    ValuePtr v = pop();
                    return v;
                }
                case 'N':
                    push(std::make_shared<Value>());
                    break;
                case 0x88: // NEWTRUE
                    push(make(true));
                    break;
                case 0x89: // NEWFALSE
                    push(make(false));
                    break;
                case 'K': // BININT1
                    push(make(static_cast<int64_t>(read_uint(1))));
                    break;
                case 'M': // BININT2
                    push(make(static_cast<int64_t>(read_uint(2))));
                    break;
                case 'J': // BININT (signed 32-bit)
                    push(make(static_cast<int64_t>(static_cast<int32_t>(read_uint(4)))));
                    break;
                case 0x8a: { // LONG1
                    const auto n = read_uint(1);
                    LOLA_CHECK(n <= 8, "'{}': integer of {} bytes in data.pkl", file_, n);
                    const std::string b = next(n);
                    uint64_t u = 0;
                    for (size_t i = 0; i < n; ++i) {
                        u |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
                    }
                    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80) != 0) {
                        u |= ~uint64_t{0} << (8 * n); // sign extension
                    }
                    push(make(static_cast<int64_t>(u)));
                    break;
                }
                case 'G': { // BINFLOAT, big-endian
                    const std::string b = next(8);
                    uint64_t u = 0;
                    for (size_t i = 0; i < 8; ++i) {
                        u = (u << 8) | static_cast<unsigned char>(b[i]);
                    }
                    double d = 0;
                    std::memcpy(&d, &u, 8);
                    push(make(d));
                    break;
                }
                case 'X': // BINUNICODE
                    push(make(next(read_uint(4))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    push(make(next(read_uint(1))));
                    break;
                case 'c': { // GLOBAL "module\nname\n"
                    std::string module = line(), name = line();
                    push(make(Global{module, name}));
                    break;
                }
                case 0x93: { // STACK_GLOBAL
                    const std::string name = as_string(pop()), module = as_string(pop());
                    push(make(Global{module, name}));
                    break;
                }
                case 'q': // BINPUT
                    memo_[read_uint(1)] = top();
                    break;
                case 'r': // LONG_BINPUT
                    memo_[read_uint(4)] = top();
                    break;
                case 0x94: // MEMOIZE
                    memo_[memo_.size()] = top();
                    break;
                case 'h': // BINGET
                    push(memo(read_uint(1)));
                    break;
                case 'j': // LONG_BINGET
                    push(memo(read_uint(4)));
                    break;
                case ')':
                    push(make(Tuple{}));
                    break;
                case '}':
                    push(make(Dict{}));
                    break;
                case ']':
                    push(make(List{}));
                    break;
                case 't':
                    push(make(Tuple{pop_to_mark()}));
                    break;
                case 0x85:
                case 0x86:
                case 0x87: { // TUPLE1..3
                    Items items(op - 0x84);
                    for (size_t i = items.size(); i-- > 0;) {
                        items[i] = pop();
                    }
                    push(make(Tuple{std::move(items)}));
                    break;
                }
                case 'a': { // APPEND
                    ValuePtr v = pop();
                    list_of(top()).items.push_back(v);
                    break;
                }
                case 'e': { // APPENDS
                    Items items = pop_to_mark();
                    auto& l = list_of(top()).items;
                    l.insert(l.end(), items.begin(), items.end());
                    break;
                }
                case 's': { // SETITEM
                    ValuePtr v = pop(), k = pop();
                    dict_of(top()).items.emplace_back(k, v);
                    break;
                }
                case 'u': { // SETITEMS
                    Items items = pop_to_mark();
                    LOLA_CHECK(items.size() % 2 == 0, "'{}': odd SETITEMS in data.pkl", file_);
                    auto& d = dict_of(top()).items;
                    for (size_t i = 0; i < items.size(); i += 2) {
                        d.emplace_back(items[i], items[i + 1]);
                    }
                    break;
                }
                case 'b': { // BUILD: the state dict's `_metadata` (module versions); nothing to keep
                    pop();
                    LOLA_CHECK(std::holds_alternative<Dict>(top()->v),
                               "'{}': data.pkl sets the state of a {} (only a state dict's metadata is expected)",
                               file_, top()->type());
                    break;
                }
                case 'Q': // BINPERSID
                    push(persistent_load(pop()));
                    break;
                case 'R': { // REDUCE
                    ValuePtr args = pop();
                    ValuePtr callable = pop();
                    push(reduce(callable, args));
                    break;
                }
                default:
                    LOLA_THROW(
                        "'{}': data.pkl holds pickle opcode 0x{:02x} at byte {}, which a state dict does not use "
                        "(not a torch.save'd state dict?)",
                        file_, op, pos_ - 1);
            }
        }
    }

private:
    std::string next(size_t n) {
        LOLA_CHECK(pos_ + n <= bytes_.size(),
                   "'{}': data.pkl ends early (byte {} of {}): the file is truncated or "
                   "corrupt",
                   file_, pos_ + n, bytes_.size());
        std::string s = bytes_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    uint64_t read_uint(size_t n) {
        const std::string b = next(n);
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) {
            u |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
        }
        return u;
    }
    std::string line() {
        const size_t end = bytes_.find('\n', pos_);
        LOLA_CHECK(end != std::string::npos, "'{}': data.pkl ends inside a GLOBAL", file_);
        std::string s = bytes_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return s;
    }
    void push(ValuePtr v) { stack_.push_back(std::move(v)); }
    ValuePtr pop() {
        LOLA_CHECK(!stack_.empty() && !std::holds_alternative<Mark>(stack_.back()->v),
                   "'{}': data.pkl pops an empty stack (corrupt pickle)", file_);
        ValuePtr v = stack_.back();
        stack_.pop_back();
        return v;
    }
    const ValuePtr& top() const {
        LOLA_CHECK(!stack_.empty(), "'{}': data.pkl reads an empty stack (corrupt pickle)", file_);
        return stack_.back();
    }
    Items pop_to_mark() {
        Items items;
        while (!stack_.empty() && !std::holds_alternative<Mark>(stack_.back()->v)) {
            items.push_back(stack_.back());
            stack_.pop_back();
        }
        LOLA_CHECK(!stack_.empty(), "'{}': data.pkl has no MARK where one is needed (corrupt pickle)", file_);
        stack_.pop_back();
        return {items.rbegin(), items.rend()};
    }
    ValuePtr memo(uint64_t k) const {
        const auto it = memo_.find(k);
        LOLA_CHECK(it != memo_.end(), "'{}': data.pkl reads memo entry {} before it is set (corrupt pickle)", file_, k);
        return it->second;
    }
    std::string as_string(const ValuePtr& v) const {
        const auto* s = std::get_if<std::string>(&v->v);
        LOLA_CHECK(s != nullptr, "'{}': data.pkl has a {} where a string is expected", file_, v->type());
        return *s;
    }
    int64_t as_int(const ValuePtr& v) const {
        const auto* i = std::get_if<int64_t>(&v->v);
        LOLA_CHECK(i != nullptr, "'{}': data.pkl has a {} where an integer is expected", file_, v->type());
        return *i;
    }
    std::vector<int64_t> as_ints(const ValuePtr& v) const {
        const auto* t = std::get_if<Tuple>(&v->v);
        LOLA_CHECK(t != nullptr, "'{}': data.pkl has a {} where a tuple of integers is expected", file_, v->type());
        std::vector<int64_t> out;
        for (const auto& x : t->items) {
            out.push_back(as_int(x));
        }
        return out;
    }
    List& list_of(const ValuePtr& v) const {
        auto* l = std::get_if<List>(&v->v);
        LOLA_CHECK(l != nullptr, "'{}': data.pkl appends to a {} (corrupt pickle)", file_, v->type());
        return *l;
    }
    Dict& dict_of(const ValuePtr& v) const {
        auto* d = std::get_if<Dict>(&v->v);
        LOLA_CHECK(d != nullptr, "'{}': data.pkl sets an item of a {} (corrupt pickle)", file_, v->type());
        return *d;
    }

    /// ('storage', torch.<Type>Storage, key, location, numel): the record data/<key>, read onto the CPU whatever
    /// the location tag says.
    ValuePtr persistent_load(const ValuePtr& pid) {
        const auto* t = std::get_if<Tuple>(&pid->v);
        LOLA_CHECK(t != nullptr && t->items.size() == 5 && as_string(t->items[0]) == "storage",
                   "'{}': data.pkl has a persistent id that is not a storage", file_);
        const auto* type = std::get_if<Global>(&t->items[1]->v);
        LOLA_CHECK(type != nullptr && type->module == "torch", "'{}': data.pkl names a storage of unknown type", file_);
        const torch::ScalarType dtype = storage_dtype(type->name, file_);
        const std::string key = as_string(t->items[2]);
        const int64_t numel = as_int(t->items[4]);
        const auto cached = storages_.find(key);
        if (cached != storages_.end()) {
            return cached->second;
        }
        const std::string record = "data/" + key;
        LOLA_CHECK(archive_.hasRecord(record), "'{}': the archive has no record '{}' (truncated or corrupt file)",
                   file_, record);
        at::DataPtr data;
        size_t size = 0;
        try {
            std::tie(data, size) = archive_.getRecord(record);
        } catch (const c10::Error& e) {
            LOLA_THROW("'{}': cannot read record '{}': {}", file_, record, e.what_without_backtrace());
        }
        const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
        LOLA_CHECK(size == bytes, "'{}': record '{}' holds {} bytes but its storage needs {} ({} x {})", file_, record,
                   size, bytes, numel, c10::toString(dtype));
        torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
        if (bytes > 0) {
            std::memcpy(storage.data_ptr(), data.get(), bytes);
        }
        ValuePtr v = make(Storage{storage});
        storages_[key] = v;
        return v;
    }

    ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
        const auto* g = std::get_if<Global>(&callable->v);
        LOLA_CHECK(g != nullptr, "'{}': data.pkl calls a {} (corrupt pickle)", file_, callable->type());
        const auto* a = std::get_if<Tuple>(&args->v);
        LOLA_CHECK(a != nullptr, "'{}': data.pkl calls {} without an argument tuple", file_, g->dotted());
        const std::string f = g->dotted();
        if (f == "collections.OrderedDict" && a->items.empty()) {
            return make(Dict{});
        }
        if (f == "torch._utils._rebuild_tensor_v2" && a->items.size() >= 4) {
            const auto* s = std::get_if<Storage>(&a->items[0]->v);
            LOLA_CHECK(s != nullptr, "'{}': data.pkl rebuilds a tensor from a {}", file_, a->items[0]->type());
            const int64_t offset = as_int(a->items[1]);
            const std::vector<int64_t> size = as_ints(a->items[2]), stride = as_ints(a->items[3]);
            LOLA_CHECK(size.size() == stride.size(), "'{}': a tensor of sizes ({}) has strides ({})", file_,
                       fmt::join(size, ", "), fmt::join(stride, ", "));
            int64_t last = offset; // the last element the view reads
            bool empty = false;
            for (size_t k = 0; k < size.size(); ++k) {
                LOLA_CHECK(size[k] >= 0 && stride[k] >= 0, "'{}': a tensor has negative sizes or strides", file_);
                empty = empty || size[k] == 0;
                last += (size[k] - 1) * stride[k];
            }
            LOLA_CHECK(offset >= 0 && (empty || last < s->data.numel()),
                       "'{}': a tensor of sizes ({}) at offset {} runs past its storage of {} elements", file_,
                       fmt::join(size, ", "), offset, s->data.numel());
            return make(s->data.as_strided(size, stride, offset).clone(torch::MemoryFormat::Contiguous));
        }
        if (f == "torch._utils._rebuild_parameter" && !a->items.empty()) {
            return a->items[0];
        }
        LOLA_THROW(
            "'{}': data.pkl calls {}, which a state dict of tensors does not use (only tensors, parameters "
            "and an OrderedDict are read)",
            file_, f);
    }

    const std::string& bytes_;
    caffe2::serialize::PyTorchStreamReader& archive_;
    std::string file_;
    size_t pos_ = 0;
    std::vector<ValuePtr> stack_;
    std::map<uint64_t, ValuePtr> memo_;
    std::map<std::string, ValuePtr> storages_;
};

} // namespace

StateDict read_state_dict(const fs::path& path) {
    const std::string file = path.string();
    LOLA_CHECK(fs::is_regular_file(path), "'{}' does not exist or is not a file", file);
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
    try {
        archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(file);
    } catch (const c10::Error& e) {
        LOLA_THROW("'{}' is not a readable torch.save archive (truncated or corrupt?): {}", file,
                   e.what_without_backtrace());
    }
    if (archive->hasRecord("byteorder")) {
        const auto [data, size] = archive->getRecord("byteorder");
        const std::string order(static_cast<const char*>(data.get()), size);
        LOLA_CHECK(order == "little", "'{}' was saved on a {}-endian machine; only little-endian files are read", file,
                   order);
    }
    LOLA_CHECK(archive->hasRecord("data.pkl"), "'{}' has no data.pkl: not a torch.save archive", file);
    std::string pickle;
    try {
        const auto [data, size] = archive->getRecord("data.pkl");
        pickle.assign(static_cast<const char*>(data.get()), size);
    } catch (const c10::Error& e) {
        LOLA_THROW("'{}': cannot read data.pkl (truncated or corrupt?): {}", file, e.what_without_backtrace());
    }
    const ValuePtr root = Unpickler(pickle, *archive, file).run();
    const auto* dict = std::get_if<Dict>(&root->v);
    LOLA_CHECK(dict != nullptr, "'{}' holds a {}, not a state dict (name -> tensor)", file, root->type());
    StateDict out;
    for (const auto& [k, v] : dict->items) {
        const auto* name = std::get_if<std::string>(&k->v);
        LOLA_CHECK(name != nullptr, "'{}': a state dict key is a {}, not a string", file, k->type());
        const auto* t = std::get_if<torch::Tensor>(&v->v);
        LOLA_CHECK(t != nullptr, "'{}': '{}' is a {}, not a tensor", file, *name, v->type());
        out.emplace_back(*name, *t);
    }
    return out;
}

// ---- writing --------------------------------------------------------------------------------------------------------

namespace {

/// The storage class torch.save names for a dtype.
std::string storage_name(torch::ScalarType dtype) {
    for (const auto& [storage, type] : kStorageTypes) {
        if (dtype == type) {
            return storage;
        }
    }
    LOLA_THROW("write_state_dict: tensors of dtype {} are not written", c10::toString(dtype));
}

/// A protocol-2 pickle of exactly the constructs torch.save emits for a state dict and that
/// `torch.load(weights_only=True)` accepts: OrderedDict, torch._utils._rebuild_tensor_v2, storages as persistent ids.
class Pickler {
public:
    std::string bytes() const { return out_ + "."; } // STOP

    void proto() { out_ += "\x80\x02"; }
    void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
    void mark() { out_ += "("; }
    void tuple() { out_ += "t"; }
    void empty_tuple() { out_ += ")"; }
    void reduce() { out_ += "R"; }
    void setitems() { out_ += "u"; }
    void binpersid() { out_ += "Q"; }
    void boolean(bool b) { out_ += b ? "\x88" : "\x89"; }
    void string(const std::string& v) {
        out_ += "X";
        le32(static_cast<uint32_t>(v.size()));
        out_ += v;
    }
    void integer(int64_t v) {
        if (v >= 0 && v < 256) {
            out_ += "K";
            out_ += static_cast<char>(v);
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            out_ += "J";
            le32(static_cast<uint32_t>(static_cast<int32_t>(v)));
        } else {
            out_ += "\x8a\x08"; // LONG1, 8 bytes little-endian two's complement
            for (int i = 0; i < 8; ++i) {
                out_ += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
            }
        }
    }
    void ints(at::IntArrayRef v) {
        mark();
        for (const int64_t x : v) {
            integer(x);
        }
        tuple();
    }
    void ordered_dict() {
        global("collections", "OrderedDict");
        empty_tuple();
        reduce();
    }

private:
    void le32(uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            out_ += static_cast<char>((v >> (8 * i)) & 0xFF);
        }
    }
    std::string out_;
};

} // namespace

void write_state_dict(const StateDict& state, const std::filesystem::path& path) {
    Pickler p;
    p.proto();
    p.ordered_dict();
    std::vector<torch::Tensor> storages;
    if (!state.empty()) {
        p.mark();
    }
    for (const auto& [name, tensor] : state) {
        LOLA_CHECK(tensor.defined(), "write_state_dict: '{}' is an undefined tensor", name);
        const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
        const std::string key = std::to_string(storages.size());
        storages.push_back(t);
        p.string(name);
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.mark();
        p.mark(); // the persistent id: ('storage', torch.<Type>Storage, key, location, numel)
        p.string("storage");
        p.global("torch", storage_name(t.scalar_type()));
        p.string(key);
        p.string("cpu");
        p.integer(t.numel());
        p.tuple();
        p.binpersid();
        p.integer(0); // storage offset
        p.ints(t.sizes());
        p.ints(t.strides());
        p.boolean(false); // requires_grad
        p.ordered_dict(); // backward hooks
        p.tuple();
        p.reduce();
    }
    if (!state.empty()) {
        p.setitems();
    }
    const std::string pickle = p.bytes();

    core::AtomicFile out(path);
    try {
        caffe2::serialize::PyTorchStreamWriter writer(
            [&out](const void* data, size_t size) { return out.write(data, size) ? size : 0; });
        writer.writeRecord("data.pkl", pickle.data(), pickle.size());
        writer.writeRecord(".format_version", "1", 1);
        writer.writeRecord(".storage_alignment", "64", 2);
        writer.writeRecord("byteorder", "little", 6);
        for (size_t k = 0; k < storages.size(); ++k) {
            const torch::Tensor& t = storages[k];
            writer.writeRecord("data/" + std::to_string(k), t.data_ptr(), t.nbytes());
        }
        writer.writeEndOfFile();
    } catch (const c10::Error&) {
        if (!out.failed()) {
            throw;
        }
        // a failed write (disk full): commit() reports it naming `path`
    }
    out.commit();
}

} // namespace lola::interop
