// Tests of lola::emulation: rollout stitching with a self-describing fake emulator, chunked codecs, persistence,
// frame selection and the Python-compatible random streams of the evaluation protocol.
#include <gtest/gtest.h>

#include <torch/types.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lola/core/error.h"
#include "lola/emulation/protocol.h"
#include "lola/emulation/rollout.h"
#include "support/torch_support.h"

namespace lola::emulation {
namespace {

using test::SeededTest;

// One recorded call of the fake emulator.
struct Call {
    torch::Tensor window, known, label, out;
};

// (1, 1, 1, *S) + (B, 1, 1, 1..) + (1, C, 1, 1..): 1e6·b + 1e7·c + 1e8·(linear spatial index). Exact in float64.
torch::Tensor row_tag(int64_t B, int64_t C, const std::vector<int64_t>& spatial) {
    auto opt = torch::TensorOptions().dtype(torch::kFloat64);
    std::vector<int64_t> shape{B, C, 1};
    shape.insert(shape.end(), spatial.begin(), spatial.end());
    int64_t S = 1;
    for (int64_t s : spatial) {
        S *= s;
    }
    std::vector<int64_t> sshape{1, 1, 1};
    sshape.insert(sshape.end(), spatial.begin(), spatial.end());
    std::vector<int64_t> ones(spatial.size(), 1);
    std::vector<int64_t> bshape{B, 1, 1};
    bshape.insert(bshape.end(), ones.begin(), ones.end());
    std::vector<int64_t> cshape{1, C, 1};
    cshape.insert(cshape.end(), ones.begin(), ones.end());
    return (torch::arange(S, opt).reshape(sshape) * 1e8 + torch::arange(B, opt).reshape(bshape) * 1e6 +
            torch::arange(C, opt).reshape(cshape) * 1e7)
        .expand(shape)
        .contiguous();
}

// The fake emulator: unknown position p of call k becomes 1000·(k + 1) + p + tag; known positions come back as their
// input + 0.25 (a visible "re-generation"). Every call is recorded.
WindowFn fake_emulator(std::vector<Call>& calls, const torch::Tensor& tag) {
    return [&calls, tag](const torch::Tensor& window, const torch::Tensor& known, const torch::Tensor& label) {
        const int64_t k = static_cast<int64_t>(calls.size());
        const int64_t n = window.size(2);
        torch::Tensor out = torch::empty_like(window);
        for (int64_t p = 0; p < n; ++p) {
            if (known[p].item<bool>()) {
                out.narrow(2, p, 1).copy_(window.narrow(2, p, 1) + 0.25);
            } else {
                out.narrow(2, p, 1).copy_(tag + static_cast<double>(1000 * (k + 1) + p));
            }
        }
        calls.push_back({window.clone(), known.clone(), label, out});
        return out;
    };
}

// The validity rule, written independently of RolloutOptions::validate.
// k is the crop: the states kept of every window (the reference's count), -1 for the whole window.
bool valid_options(int64_t w, int64_t c, int64_t o, int64_t k) {
    const int64_t oo = o < 0 ? c : o;
    const int64_t kept = k < 0 ? w : k;
    return w >= 2 && c >= 1 && c < w && (k == -1 || (k >= c && k <= w)) && (o == -1 || o >= 1) && oo < kept;
}

// Runs the fake rollout and checks every property of the stitching.
void check_rollout(int64_t w, int64_t c, int64_t o, int64_t crop, int64_t length, const std::vector<int64_t>& spatial) {
    SCOPED_TRACE(fmt::format("window {} context {} overlap {} crop {} length {} spatial {}", w, c, o, crop, length,
                             fmt::join(spatial, "x")));
    const int64_t B = 2, C = 2;
    const int64_t oo = o < 0 ? c : o;
    const int64_t kept = crop < 0 ? w : crop, step = kept - oo;
    const torch::Tensor tag = row_tag(B, C, spatial);
    std::vector<int64_t> cshape{B, C, c};
    cshape.insert(cshape.end(), spatial.begin(), spatial.end());
    // Context states: -(1 + t) + tag, i.e. distinct from every fake output.
    const torch::Tensor ctx = -torch::arange(1, c + 1, torch::kFloat64);
    std::vector<int64_t> tshape{1, 1, c};
    tshape.insert(tshape.end(), spatial.size(), 1);
    const torch::Tensor context = (ctx.reshape(tshape) + tag).contiguous();
    const torch::Tensor label = torch::arange(B * 3, torch::kFloat64).reshape({B, 3});

    std::vector<Call> calls;
    const RolloutOptions opts{w, c, o, crop};
    const torch::Tensor x = rollout(fake_emulator(calls, tag), context, label, length, opts);

    std::vector<int64_t> xshape{B, C, length};
    xshape.insert(xshape.end(), spatial.begin(), spatial.end());
    ASSERT_EQ(x.sizes(), torch::IntArrayRef(xshape));

    // Which call produced state t, and at which window position.
    int64_t max_call = 0;
    for (int64_t t = 0; t < length; ++t) {
        int64_t k = 0, p = t;
        if (t >= kept) {
            k = 1 + (t - kept) / step;
            p = oo + (t - kept) % step;
        }
        max_call = std::max(max_call, k);
        const torch::Tensor expected =
            (k == 0 && p < c) ? context.narrow(2, t, 1) + 0.25 : tag + static_cast<double>(1000 * (k + 1) + p);
        ASSERT_TRUE(torch::equal(x.narrow(2, t, 1), expected))
            << "state " << t << " (call " << k << ", pos " << p << ")";
    }
    ASSERT_EQ(static_cast<int64_t>(calls.size()), max_call + 1);
    EXPECT_EQ(opts.n_windows(length), max_call + 1);

    for (size_t k = 0; k < calls.size(); ++k) {
        const int64_t n_known = k == 0 ? c : oo;
        const Call& call = calls[k];
        EXPECT_TRUE(call.label.is_same(label));
        ASSERT_EQ(call.known.scalar_type(), torch::kBool);
        ASSERT_EQ(call.known.sizes(), torch::IntArrayRef({w}));
        EXPECT_TRUE(torch::equal(call.known, torch::arange(w) < n_known)) << "call " << k;
        // Known inputs: the context for the first window, else the previous window's last `overlap` kept states.
        const torch::Tensor expected_known = k == 0 ? context : calls[k - 1].out.narrow(2, kept - oo, oo);
        EXPECT_TRUE(torch::equal(call.window.narrow(2, 0, n_known), expected_known)) << "call " << k;
        EXPECT_EQ(call.window.narrow(2, n_known, w - n_known).abs().max().item<double>(), 0.0) << "call " << k;
    }
}

TEST(Rollout, StitchingForEveryValidOptionCombination) {
    int64_t n_valid = 0, n_invalid = 0;
    for (int64_t w = 2; w <= 6; ++w) {
        for (int64_t c = 1; c < w; ++c) {
            for (int64_t o = -1; o < w; ++o) {
                for (int64_t r = -1; r <= w + 1; ++r) {
                    const RolloutOptions opts{w, c, o, r};
                    if (!valid_options(w, c, o, r)) {
                        EXPECT_THROW(opts.validate(), UsageError) << w << " " << c << " " << o << " " << r;
                        ++n_invalid;
                        continue;
                    }
                    EXPECT_NO_THROW(opts.validate());
                    for (int64_t length : {int64_t{1}, c, w, int64_t{13}}) {
                        check_rollout(w, c, o, r, length, {2, 3});
                    }
                    ++n_valid;
                }
            }
        }
    }
    EXPECT_GT(n_valid, 100);
    EXPECT_GT(n_invalid, 50);
}

TEST(Rollout, ReportsProgressPerWindow) {
    const WindowFn identity = [](const torch::Tensor& w, const torch::Tensor&, const torch::Tensor&) { return w; };
    std::vector<std::pair<int64_t, int64_t>> seen;
    rollout(identity, torch::zeros({1, 1, 1, 2, 2}), {}, 26, {},
            [&](int64_t done, int64_t total) { seen.emplace_back(done, total); });
    ASSERT_EQ(seen.size(), 7U);
    for (size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i], std::make_pair(static_cast<int64_t>(i) + 1, int64_t{7}));
    }
}

TEST(Rollout, ThreeDimensionalStates) {
    check_rollout(5, 1, -1, -1, 26, {2, 3, 2});
    check_rollout(5, 2, 3, 4, 11, {2, 2, 2});
    check_rollout(4, 3, -1, -1, 7, {3});
}

TEST(Rollout, PaperWindowCounts) {
    // docs/method.md 1 and 13: autoregressive steps for c = 1 with window 5 (Euler 26 frames, RB v1 42, TGC 46).
    const RolloutOptions paper{};
    EXPECT_EQ(paper.resolved_overlap(), 1);
    EXPECT_EQ(paper.n_windows(26), 7);
    EXPECT_EQ(paper.n_windows(42), 11);
    EXPECT_EQ(paper.n_windows(46), 12);
    EXPECT_EQ(paper.n_windows(5), 1);
    EXPECT_EQ(paper.n_windows(6), 2);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string validation_message(const RolloutOptions& opts) {
    try {
        opts.validate();
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Rollout, InvalidOptionsNameTheOption) {
    EXPECT_PRED2(contains, validation_message({1, 1, -1, 0}), ("rollout.window = 1"));
    EXPECT_PRED2(contains, validation_message({5, 0, -1, 0}), ("rollout.context = 0"));
    EXPECT_PRED2(contains, validation_message({5, 5, -1, 0}), ("rollout.context = 5"));
    EXPECT_PRED2(contains, validation_message({5, 2, -1, 1}), ("rollout.crop = 1"));
    EXPECT_PRED2(contains, validation_message({5, 2, -1, 6}), ("rollout.crop = 6"));
    EXPECT_PRED2(contains, validation_message({5, 1, -1, -2}), ("rollout.crop = -2"));
    EXPECT_PRED2(contains, validation_message({5, 1, 0, -1}), ("rollout.overlap = 0"));
    EXPECT_PRED2(contains, validation_message({5, 1, 4, 4}), ("rollout.overlap = 4"));
    EXPECT_PRED2(contains, validation_message({5, 3, -1, 3}), ("rollout.overlap = 3 (= context)"));
    EXPECT_PRED2(contains, validation_message({5, 3, -1, 3}), ("lower overlap or raise crop"));
    EXPECT_EQ(validation_message({5, 3, -1, 4}), "(no error)");
    EXPECT_EQ(validation_message({5, 3, -1, -1}), "(no error)");
    // rollout() validates too, and checks its tensors.
    const WindowFn identity = [](const torch::Tensor& w, const torch::Tensor&, const torch::Tensor&) { return w; };
    const torch::Tensor ctx = torch::zeros({1, 2, 1, 4, 4});
    EXPECT_THROW(rollout(identity, ctx, {}, 8, {5, 1, 0, -1}), UsageError);
    EXPECT_THROW(rollout(identity, ctx, {}, 8, {5, 2, -1, -1}), Error);       // context has 1 state, options say 2
    EXPECT_THROW(rollout(identity, ctx, {}, 0, {}), Error);                   // length
    EXPECT_THROW(rollout(identity, ctx, torch::zeros({3, 5}), 8, {}), Error); // label rows != B
    const WindowFn bad = [](const torch::Tensor& w, const torch::Tensor&, const torch::Tensor&) {
        return w.narrow(2, 0, 4);
    };
    EXPECT_THROW(rollout(bad, ctx, {}, 8, {}), Error);
}

TEST(Rollout, EnsembleMembersShareTheirContext) {
    const torch::Tensor x = torch::arange(2 * 3).reshape({2, 3});
    const torch::Tensor r = repeat_members(x, 4);
    ASSERT_EQ(r.sizes(), torch::IntArrayRef({8, 3}));
    for (int64_t i = 0; i < 8; ++i) {
        EXPECT_TRUE(torch::equal(r[i], x[i / 4]));
    }
    EXPECT_FALSE(repeat_members(torch::Tensor(), 16).defined());
    EXPECT_THROW(repeat_members(x, 0), Error);

    // A stochastic emulator (noise for the unknown states) driven with K copies of one context: members differ but
    // their re-generated context is the same.
    torch::manual_seed(0);
    const WindowFn noisy = [](const torch::Tensor& w, const torch::Tensor& known, const torch::Tensor&) {
        const torch::Tensor m = known.to(w.dtype()).reshape({1, 1, -1, 1, 1});
        return w * m + torch::randn_like(w) * (1 - m);
    };
    const torch::Tensor ctx = repeat_members(torch::randn({1, 2, 1, 3, 3}), 16);
    const torch::Tensor ens = rollout(noisy, ctx, {}, 10, {});
    ASSERT_EQ(ens.sizes(), torch::IntArrayRef({16, 2, 10, 3, 3}));
    EXPECT_TRUE(torch::equal(ens.narrow(2, 0, 1), ctx));
    EXPECT_GT((ens[0] - ens[1]).abs().max().item<double>(), 0.1);
}

// A per-state decoder (M, 3, h, w) -> (M, 2, 2h, 2w): a fixed channel mix, then nearest upsampling. Counts calls.
struct FakeDecoder {
    torch::Tensor mix = torch::randn({2, 3}, torch::kFloat64);
    int calls = 0;
    torch::Tensor operator()(const torch::Tensor& s) {
        ++calls;
        return torch::einsum("oc,mchw->mohw", {mix, s}).repeat_interleave(2, 2).repeat_interleave(2, 3);
    }
};

class Codec : public SeededTest {};

TEST_F(Codec, DecodeChunksEqualsDecodingAllAtOnce) {
    FakeDecoder dec;
    const int64_t B = 2, L = 5;
    const torch::Tensor z = torch::randn({B, 3, L, 4, 3}, torch::kFloat64).requires_grad_(true);
    const torch::Tensor all = decode_chunks(std::ref(dec), z, 0);
    ASSERT_EQ(all.sizes(), torch::IntArrayRef({B, 2, L, 8, 6}));
    EXPECT_FALSE(all.requires_grad()); // no grad
    EXPECT_EQ(dec.calls, 1);
    // Against a state-by-state reference.
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t l = 0; l < L; ++l) {
            const torch::Tensor ref = dec(z.detach().select(0, b).select(1, l).unsqueeze(0))[0];
            EXPECT_TRUE(torch::allclose(all.select(0, b).select(1, l), ref, 0.0, 1e-12)) << b << " " << l;
        }
    }
    for (int64_t chunk : {int64_t{1}, int64_t{3}, L, B * L, int64_t{100}}) {
        dec.calls = 0;
        const torch::Tensor y = decode_chunks(std::ref(dec), z, chunk);
        // Other batch sizes may take other kernels (einsum through a batched GEMM): the same up to reordering of the
        // 3-term channel mix, not bit for bit.
        EXPECT_TRUE(test::close_up_to_reordering(y, all, 3)) << "chunk " << chunk;
        EXPECT_EQ(dec.calls, (B * L + chunk - 1) / chunk) << "chunk " << chunk;
    }
    EXPECT_THROW(decode_chunks(std::ref(dec), z, -1), Error);
    EXPECT_THROW(decode_chunks(std::ref(dec), z.flatten(2), 1), Error); // no spatial axis
}

TEST_F(Codec, EncodeStatesMapsEveryStateAndKeepsOrder) {
    // Encoder: (M, 2, 8, 6) -> (M, 4, 4, 3) by space-to-depth; exact, so the result is checked element by element.
    const StateFn enc = [](const torch::Tensor& s) {
        const int64_t M = s.size(0);
        return s.reshape({M, 2, 4, 2, 3, 2}).permute({0, 1, 3, 5, 2, 4}).reshape({M, 8, 4, 3}).narrow(1, 0, 4);
    };
    const torch::Tensor x = torch::randn({3, 2, 4, 8, 6});
    const torch::Tensor z = encode_states(enc, x, 5);
    ASSERT_EQ(z.sizes(), torch::IntArrayRef({3, 4, 4, 4, 3}));
    for (int64_t b = 0; b < 3; ++b) {
        for (int64_t l = 0; l < 4; ++l) {
            EXPECT_TRUE(torch::equal(z.select(0, b).select(1, l), enc(x.select(0, b).select(1, l).unsqueeze(0))[0]));
        }
    }
    EXPECT_TRUE(torch::equal(encode_states(enc, x, 1), z));
    // 3-D states.
    const StateFn twice = [](const torch::Tensor& s) { return 2 * s; };
    const torch::Tensor x3 = torch::randn({2, 3, 4, 2, 2, 2});
    EXPECT_TRUE(torch::equal(encode_states(twice, x3, 3), 2 * x3));
}

TEST_F(Codec, Persistence) {
    const torch::Tensor ctx = torch::randn({2, 3, 2, 4, 4});
    const torch::Tensor p = persistence(ctx, 6);
    ASSERT_EQ(p.sizes(), torch::IntArrayRef({2, 3, 6, 4, 4}));
    EXPECT_TRUE(torch::equal(p.narrow(2, 0, 2), ctx));
    for (int64_t t = 2; t < 6; ++t) {
        EXPECT_TRUE(torch::equal(p.select(2, t), ctx.select(2, 1))) << t;
    }
    EXPECT_TRUE(torch::equal(persistence(ctx, 1), ctx.narrow(2, 0, 1)));
    const torch::Tensor ctx3 = torch::randn({1, 2, 1, 2, 3, 2});
    EXPECT_TRUE(torch::equal(persistence(ctx3, 4), ctx3.expand({1, 2, 4, 2, 3, 2})));
    EXPECT_THROW(persistence(ctx, 0), Error);
}

TEST(Protocol, SelectFramesMatchesThePaperCounts) {
    // Euler: 101 snapshots, Δ = 4, start 0 (docs/method.md 13: 26 frames for c = 1).
    const torch::Tensor euler = torch::arange(101).unsqueeze(1).expand({101, 2});
    const torch::Tensor f = select_frames(euler, 0, 1, 4);
    ASSERT_EQ(f.size(0), 26);
    EXPECT_TRUE(torch::equal(f.select(1, 0), torch::arange(0, 101, 4)));
    EXPECT_EQ(select_frames(euler, 0, 3, 4).size(0), 26); // max(0, 0 - 8) = 0
    // RB v1: 200 snapshots, Δ = 4, start 32: 42 frames for c = 1; c = 3 starts at 24.
    EXPECT_EQ(select_frame_indices(200, 32, 1, 4).size(), 42U);
    const auto rb3 = select_frame_indices(200, 32, 3, 4);
    EXPECT_EQ(rb3.front(), 24);
    EXPECT_EQ(rb3.size(), 44U);
    EXPECT_EQ(rb3.back(), 196);
    // TGC: 50 snapshots, Δ = 1, start 4: 46 frames for c = 1.
    EXPECT_EQ(select_frame_indices(50, 4, 1, 1).size(), 46U);
    // Along dim 1 of a (C, T, ...) sample.
    const torch::Tensor ct = torch::arange(3 * 20).reshape({3, 20});
    const torch::Tensor g = select_frames(ct, 6, 2, 3, 1);
    EXPECT_TRUE(torch::equal(g, ct.index_select(1, torch::arange(3, 20, 3))));
    // Lead times (docs/method.md 1): Euler c = 1 runs 0, 4, ..., 100; c = 3 starts at -8.
    const auto lead1 = lead_times(26, 1, 4);
    EXPECT_EQ(lead1.front(), 0);
    EXPECT_EQ(lead1.back(), 100);
    EXPECT_EQ(lead_times(4, 3, 4), (std::vector<int64_t>{-8, -4, 0, 4}));
    EXPECT_EQ(lead_times(46, 1, 1).back(), 45); // TGC: lead times 1 ... 45
    EXPECT_THROW(select_frames(euler, 101, 1, 4), Error);
    EXPECT_THROW(select_frames(euler, 0, 1, 0), Error);
    EXPECT_THROW(select_frames(euler, 0, 0, 4), Error);
}

TEST(Protocol, PythonRandomMatchesCPython) {
    // python3 -c "import random; random.seed(0); print([repr(random.random()) for _ in range(3)])"
    PythonRandom rng(0);
    EXPECT_EQ(rng.random(), 0.8444218515250481);
    EXPECT_EQ(rng.random(), 0.7579544029403025);
    EXPECT_EQ(rng.random(), 0.420571580830845);
    // python3 -c "import random; random.seed(0); print([random.getrandbits(32) for _ in range(3)])"
    PythonRandom bits(0);
    EXPECT_EQ(bits.getrandbits(32), 3626764237U);
    EXPECT_EQ(bits.getrandbits(32), 1654615998U);
    EXPECT_EQ(bits.getrandbits(32), 3255389356U);
    // A seed above 2^32 (two key words): python3 -c "import random; random.seed(12345678901); print(repr(random.random()))"
    EXPECT_EQ(PythonRandom(12345678901).random(), 0.9460118159397316);
    // Negative seeds use |seed|, as Python does.
    EXPECT_EQ(PythonRandom(-12345678901).random(), 0.9460118159397316);
}

std::string hex(const std::array<uint8_t, 64>& d) {
    std::string s;
    for (uint8_t b : d) {
        s += fmt::format("{:02x}", b);
    }
    return s;
}

TEST(Protocol, Sha512AndStringSeeds) {
    // python3 -c "import hashlib; print(hashlib.sha512(b'abc').hexdigest())" (likewise b'' and b'a'*200)
    EXPECT_EQ(hex(sha512("abc")),
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    EXPECT_EQ(hex(sha512("")),
              "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
              "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    EXPECT_EQ(hex(sha512(std::string(200, 'a'))),
              "4b11459c33f52a22ee8236782714c150a3b2c60994e9acee17fe68947a3e6789"
              "f31e7668394592da7bef827cddca88c4e6f86e4df7ed1ae6cba71f3e98faee9f");
    // python3 -c "import random; print(random.Random('0,3,32').getrandbits(32))" (likewise '0,0,0', 'abc', '')
    EXPECT_EQ(run_seed(0, 3, 32), 279524560U);
    EXPECT_EQ(run_seed(0, 0, 0), 3634596889U);
    EXPECT_EQ(PythonRandom(std::string("abc")).getrandbits(32), 3315820543U);
    EXPECT_EQ(PythonRandom(std::string("")).getrandbits(32), 4124137760U);
}

TEST(Protocol, EvalTrajectoryIndicesMatchPython) {
    // python3 -c "import random
    // for n in (16, 64, 200, 1000):
    //     random.seed(0); print(n, sorted(set(int(random.random()*n) for _ in range(64))))"
    using V = std::vector<int64_t>;
    EXPECT_EQ(eval_trajectory_indices(16), (V{0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}));
    EXPECT_EQ(eval_trajectory_indices(64),
              (V{0,  5,  6,  12, 15, 16, 18, 19, 20, 25, 26, 27, 28, 30, 31, 32, 34, 35, 36,
                 37, 38, 39, 42, 43, 45, 46, 48, 50, 51, 52, 54, 55, 57, 58, 59, 61, 62}));
    EXPECT_EQ(eval_trajectory_indices(200),
              (V{0,   2,   16,  20,  21,  38,  47,  48,  50,  51,  52,  56,  60,  62,  64,  65,  79,  80,  84,
                 86,  89,  94,  95,  98,  100, 101, 102, 108, 109, 110, 113, 116, 120, 122, 123, 133, 136, 141,
                 143, 145, 151, 156, 160, 161, 162, 164, 168, 173, 174, 179, 180, 181, 182, 186, 192, 193, 196}));
    EXPECT_EQ(
        eval_trajectory_indices(1000),
        (V{1,   14,  80,  100, 109, 191, 238, 243, 250, 258, 260, 281, 303, 310, 320, 325, 398, 404, 420, 434, 447, 472,
           476, 477, 493, 504, 507, 511, 540, 547, 548, 551, 567, 583, 603, 610, 618, 668, 683, 706, 719, 729, 755, 757,
           783, 803, 805, 810, 814, 824, 844, 865, 867, 870, 898, 902, 908, 909, 913, 932, 963, 966, 967, 982}));
    // python3 -c "import random; random.seed(7); print(sorted(set(int(random.random()*100) for _ in range(10))))"
    EXPECT_EQ(eval_trajectory_indices(100, 10, 7), (V{3, 5, 7, 15, 32, 36, 43, 50, 53, 65}));
    EXPECT_TRUE(eval_trajectory_indices(5, 0).empty());
    EXPECT_THROW(eval_trajectory_indices(0), Error);
}

TEST(Timing, PerStateDividesByMembersTimesFrames) {
    const RolloutTiming t = RolloutTiming::of(2.08, 16, 26);
    EXPECT_EQ(t.states, 416);
    EXPECT_DOUBLE_EQ(t.ms_per_state(), 5.0);
    EXPECT_EQ(RolloutTiming{}.ms_per_state(), 0.0);
    bool ran = false;
    const auto outer = std::chrono::steady_clock::now();
    const RolloutTiming m = time_rollout(
        [&] {
            ran = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        },
        4, 5, torch::kCPU);
    EXPECT_TRUE(ran);
    EXPECT_EQ(m.states, 20);
    EXPECT_GE(m.seconds, 0.019);
    // in seconds, and never more than the wall time around the call (no wall-clock bound: machines differ)
    EXPECT_LE(m.seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - outer).count());
}

} // namespace
} // namespace lola::emulation
