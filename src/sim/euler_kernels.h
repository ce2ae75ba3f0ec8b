// Inner loops of the 2-D Euler finite-volume solver: primitive conversion, MUSCL reconstruction, HLLC/HLLE fluxes
// and the conservative update. Private to src/sim.
//
// Every loop runs along one contiguous row (index j). The per-element code is written once as a template over the
// lane type T: `double`, or a GCC vector of two doubles (SSE2, the x86-64 baseline) or four (when compiled with AVX).
// The explicit vector type makes the loops SIMD regardless of -fno-math-errno / -fno-trapping-math (without them
// GCC's auto-vectoriser gives up on sqrt and on selects between trapping operations). All lane types execute the same
// IEEE operations in the same order, so a value does not depend on the lane width or on whether it was computed in a
// vector lane or in the scalar remainder. (Contraction into FMA would change the bits: builds with FMA enabled
// should add -ffp-contract=off to keep the bytes of the baseline build.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__) && defined(__SSE2__)
#define LOLA_SIM_SIMD 1
#else
#define LOLA_SIM_SIMD 0
#endif

namespace lola::sim::euler_detail {

// ---- lane types ----

#if LOLA_SIM_SIMD
typedef double VecD __attribute__((vector_size(16)));
typedef long long VecM __attribute__((vector_size(16)));
#endif

template <class T>
struct Lane;

template <>
struct Lane<double> {
    static constexpr int kWidth = 1;
    static double load(const double* p) { return *p; }
    static void store(double* p, double v) { *p = v; }
    static double splat(double x) { return x; }
    static double sqrt(double x) { return std::sqrt(x); }
    static double abs(double x) { return std::fabs(x); }
    static double copysign(double m, double s) { return std::copysign(m, s); }
};

#if LOLA_SIM_SIMD
template <>
struct Lane<VecD> {
    static constexpr int kWidth = 2;
    static VecD load(const double* p) {
        VecD v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static void store(double* p, VecD v) { std::memcpy(p, &v, sizeof v); }
    static VecD splat(double x) { return VecD{x, x}; }
    static VecD sqrt(VecD x) { return __builtin_ia32_sqrtpd(x); }
    static VecD abs(VecD x) {
        const VecM mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        return reinterpret_cast<VecD>(reinterpret_cast<VecM>(x) & mask);
    }
    static VecD copysign(VecD m, VecD s) {
        const VecM mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        return reinterpret_cast<VecD>((reinterpret_cast<VecM>(m) & mask) | (reinterpret_cast<VecM>(s) & ~mask));
    }
};
#if defined(__AVX__)
// With AVX (e.g. -march=native) four lanes; the same operations per element, so the same bits as two lanes.
typedef double VecD4 __attribute__((vector_size(32)));
typedef long long VecM4 __attribute__((vector_size(32)));

template <>
struct Lane<VecD4> {
    static constexpr int kWidth = 4;
    static VecD4 load(const double* p) {
        VecD4 v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static void store(double* p, VecD4 v) { std::memcpy(p, &v, sizeof v); }
    static VecD4 splat(double x) { return VecD4{x, x, x, x}; }
    static VecD4 sqrt(VecD4 x) { return __builtin_ia32_sqrtpd256(x); }
    static VecD4 abs(VecD4 x) {
        const VecM4 mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        return reinterpret_cast<VecD4>(reinterpret_cast<VecM4>(x) & mask);
    }
    static VecD4 copysign(VecD4 m, VecD4 s) {
        const VecM4 mask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        return reinterpret_cast<VecD4>((reinterpret_cast<VecM4>(m) & mask) | (reinterpret_cast<VecM4>(s) & ~mask));
    }
};
using WideLane = VecD4;
#else
using WideLane = VecD;
#endif
#else
using WideLane = double;
#endif

// std::min / std::max semantics ((b < a) ? b : a and (a < b) ? b : a), for scalars and vectors alike.
template <class T>
inline T vmin(T a, T b) {
    return b < a ? b : a;
}
template <class T>
inline T vmax(T a, T b) {
    return a < b ? b : a;
}

/// Ideal-gas constants used by every kernel.
struct Gas {
    double gamma = 1.4;
    double gm1 = 0.4;     // gamma - 1
    double inv_gm1 = 2.5; // 1 / (gamma - 1)

    explicit Gas(double g = 1.4) : gamma(g), gm1(g - 1.0), inv_gm1(1.0 / (g - 1.0)) {}
};

/// Four pointers to the components of one row: (rho, u, v, p) for primitives or (rho, m_x, m_y, E) for conserved
/// variables and fluxes. Index 0 is column j = 0; primitive rows also own two ghost columns on each side.
struct Row4 {
    double* c[4] = {nullptr, nullptr, nullptr, nullptr};
};

// ---- limiters ----

struct LimiterMC {
    // Monotonised central: minmod(2 a, 2 b, (a + b) / 2). Odd under (a, b) -> (-b, -a), exactly.
    template <class T>
    static inline T slope(T a, T b) {
        using L = Lane<T>;
        // 2 min(|a|, |b|) equals min(2 |a|, 2 |b|) exactly (doubling is exact).
        const T m = vmin(2.0 * vmin(L::abs(a), L::abs(b)), 0.5 * L::abs(a + b));
        return a * b > 0.0 ? L::copysign(m, a) : L::splat(0.0);
    }
};

struct LimiterMinmod {
    template <class T>
    static inline T slope(T a, T b) {
        using L = Lane<T>;
        const T m = vmin(L::abs(a), L::abs(b));
        return a * b > 0.0 ? L::copysign(m, a) : L::splat(0.0);
    }
};

// ---- conversions ----

/// Conserved (rho, m_x, m_y, E) of row `in` (ny cells) to primitive (rho, u, v, p) in `out`, then ghost columns.
inline void primitive_row(const Row4& in, const Row4& out, int ny, bool periodic, const Gas& gas) {
    const double* __restrict r = in.c[0];
    const double* __restrict mx = in.c[1];
    const double* __restrict my = in.c[2];
    const double* __restrict e = in.c[3];
    double* __restrict pr = out.c[0];
    double* __restrict pu = out.c[1];
    double* __restrict pv = out.c[2];
    double* __restrict pp = out.c[3];
    const double gm1 = gas.gm1;
    for (int j = 0; j < ny; ++j) {
        const double inv = 1.0 / r[j];
        const double u = mx[j] * inv;
        const double v = my[j] * inv;
        pr[j] = r[j];
        pu[j] = u;
        pv[j] = v;
        pp[j] = gm1 * (e[j] - 0.5 * (mx[j] * u + my[j] * v));
    }
    for (int k = 0; k < 4; ++k) {
        double* w = out.c[k];
        if (periodic) {
            w[-2] = w[ny - 2];
            w[-1] = w[ny - 1];
            w[ny] = w[0];
            w[ny + 1] = w[1];
        } else {
            w[-2] = w[0];
            w[-1] = w[0];
            w[ny] = w[ny - 1];
            w[ny + 1] = w[ny - 1];
        }
    }
}

// ---- reconstruction ----

/// Primitive variables in a face-normal frame: density, normal velocity, tangential velocity, pressure.
struct Stencil3 {
    const double* rho[3]; // cells k - 1, k, k + 1 at index k
    const double* un[3];
    const double* ut[3];
    const double* p[3];
};

/// The two face states of each cell: minus (towards k - 1/2) and plus (towards k + 1/2), each (rho, un, ut, p).
struct FaceStates {
    double* minus[4];
    double* plus[4];
};

/// MUSCL reconstruction (limited slopes of the primitive variables) of cells 0 .. n-1 of a line, with the
/// MUSCL-Hancock half-step predictor when kHancock (primitive form W_t + A(W) W_x = 0, half_dtdx = dt / (2 dx)).
/// A cell whose face values have rho <= 0 or p <= 0 falls back to its average on both faces (first order);
/// fallbacks[k] counts those events (an element-wise counter, so that the loop has no reduction).
template <class Limiter, bool kHancock, class T>
inline void reconstruct_lane(const Stencil3& s, int k, double half_dtdx, const Gas& gas, const FaceStates& out,
                             double* fallbacks) {
    using L = Lane<T>;
    const T ra = L::load(s.rho[0] + k), rb = L::load(s.rho[1] + k), rc = L::load(s.rho[2] + k);
    const T ua = L::load(s.un[0] + k), ub = L::load(s.un[1] + k), uc = L::load(s.un[2] + k);
    const T va = L::load(s.ut[0] + k), vb = L::load(s.ut[1] + k), vc = L::load(s.ut[2] + k);
    const T pa = L::load(s.p[0] + k), pb = L::load(s.p[1] + k), pc = L::load(s.p[2] + k);
    const T sr = Limiter::slope(rb - ra, rc - rb);
    const T su = Limiter::slope(ub - ua, uc - ub);
    const T sv = Limiter::slope(vb - va, vc - vb);
    const T sp = Limiter::slope(pb - pa, pc - pb);
    T r0 = rb;
    T u0 = ub;
    T v0 = vb;
    T p0 = pb;
    if (kHancock) {
        r0 = rb - half_dtdx * (ub * sr + rb * su);
        u0 = ub - half_dtdx * (ub * su + sp / rb);
        v0 = vb - half_dtdx * (ub * sv);
        p0 = pb - half_dtdx * (gas.gamma * pb * su + ub * sp);
    }
    const T r_minus = r0 - 0.5 * sr;
    const T r_plus = r0 + 0.5 * sr;
    const T p_minus = p0 - 0.5 * sp;
    const T p_plus = p0 + 0.5 * sp;
    // `&`, not `&&`: a short-circuit on a floating-point comparison is a branch.
    const auto ok = (r_minus > 0.0) & (r_plus > 0.0) & (p_minus > 0.0) & (p_plus > 0.0);
    L::store(fallbacks + k, L::load(fallbacks + k) + (ok ? L::splat(0.0) : L::splat(1.0)));
    L::store(out.minus[0] + k, ok ? r_minus : rb);
    L::store(out.minus[1] + k, ok ? u0 - 0.5 * su : ub);
    L::store(out.minus[2] + k, ok ? v0 - 0.5 * sv : vb);
    L::store(out.minus[3] + k, ok ? p_minus : pb);
    L::store(out.plus[0] + k, ok ? r_plus : rb);
    L::store(out.plus[1] + k, ok ? u0 + 0.5 * su : ub);
    L::store(out.plus[2] + k, ok ? v0 + 0.5 * sv : vb);
    L::store(out.plus[3] + k, ok ? p_plus : pb);
}

// The *_line drivers copy their pointer bundles into locals: otherwise every store through a double* could alias
// the bundle, and the compiler reloads all pointers in every iteration.
template <class Limiter, bool kHancock>
inline void reconstruct_line(const Stencil3& stencil, int n, double half_dtdx, const Gas& gas, const FaceStates& states,
                             double* fallbacks) {
    const Stencil3 s = stencil;
    const FaceStates out = states;
    const Gas g = gas;
    constexpr int w = Lane<WideLane>::kWidth;
    int k = 0;
    for (; k + w <= n; k += w) {
        reconstruct_lane<Limiter, kHancock, WideLane>(s, k, half_dtdx, g, out, fallbacks);
    }
    for (; k < n; ++k) {
        reconstruct_lane<Limiter, kHancock, double>(s, k, half_dtdx, g, out, fallbacks);
    }
}

// ---- Riemann fluxes (normal velocity un, tangential ut) ----

template <class T>
struct Flux4 {
    T rho, mn, mt, e;
};

/// Wave-speed bounds of Einfeldt (HLLE): S_L = min(u_L - c_L, u~ - c~), S_R = max(u_R + c_R, u~ + c~) with Roe
/// averages. With these bounds HLLE and HLLC are positively conservative (Einfeldt et al. 1991; Batten et al. 1997).
template <class T>
struct WaveSpeeds {
    T sl, sr, el, er, inv_rl, inv_rr;
};

template <class T>
inline WaveSpeeds<T> einfeldt_speeds(T rl, T ul, T vl, T pl, T rr, T ur, T vr, T pr, const Gas& gas) {
    using L = Lane<T>;
    WaveSpeeds<T> s;
    s.el = pl * gas.inv_gm1 + 0.5 * rl * (ul * ul + vl * vl);
    s.er = pr * gas.inv_gm1 + 0.5 * rr * (ur * ur + vr * vr);
    s.inv_rl = 1.0 / rl;
    s.inv_rr = 1.0 / rr;
    const T cl = L::sqrt(gas.gamma * pl * s.inv_rl);
    const T cr = L::sqrt(gas.gamma * pr * s.inv_rr);
    const T sql = L::sqrt(rl);
    const T sqr = L::sqrt(rr);
    const T w = 1.0 / (sql + sqr);
    const T u_roe = (sql * ul + sqr * ur) * w;
    const T v_roe = (sql * vl + sqr * vr) * w;
    const T h_roe = (sql * ((s.el + pl) * s.inv_rl) + sqr * ((s.er + pr) * s.inv_rr)) * w;
    const T c_roe = L::sqrt(vmax(gas.gm1 * (h_roe - 0.5 * (u_roe * u_roe + v_roe * v_roe)), L::splat(0.0)));
    s.sl = vmin(ul - cl, u_roe - c_roe);
    s.sr = vmax(ur + cr, u_roe + c_roe);
    return s;
}

/// The wave speeds of an HLLC flux: S_L, S_R (Einfeldt) and the contact speed
/// S* = (p_R - p_L + u_L m_L - u_R m_R) / (m_L - m_R) with m_K = rho_K (S_K - u_K).
template <class T>
struct HllcSpeeds {
    T sl, sr, s_star;
};

template <class T>
inline HllcSpeeds<T> hllc_speeds(T rl, T ul, T vl, T pl, T rr, T ur, T vr, T pr, const Gas& gas) {
    const WaveSpeeds<T> s = einfeldt_speeds(rl, ul, vl, pl, rr, ur, vr, pr, gas);
    const T ml = rl * (s.sl - ul); // > 0
    const T mr = rr * (s.sr - ur); // < 0
    return {s.sl, s.sr, (pr - pl + ul * ml - ur * mr) / (ml - mr)};
}

/// HLLC flux (Toro, Spruce & Speares 1994; Toro 2009 section 10.4) given its wave speeds. Branch-free: the side is
/// selected by the sign of S*, then the star or the plain flux of that side. With d = 1 / (S_K - S*):
/// rho*_K = m_K d and E*_K = ((S_K - u_K) E_K + (S* - u_K)(m_K S* + p_K)) d.
template <class T>
inline Flux4<T> hllc_flux_given(T rl, T ul, T vl, T pl, T rr, T ur, T vr, T pr, const HllcSpeeds<T>& s,
                                const Gas& gas) {
    const auto left = s.s_star >= 0.0;
    const T rk = left ? rl : rr;
    const T uk = left ? ul : ur;
    const T vk = left ? vl : vr;
    const T pk = left ? pl : pr;
    const T sk = left ? s.sl : s.sr;
    // Same expressions as in einfeldt_speeds / hllc_speeds, evaluated on the selected side only.
    const T ek = pk * gas.inv_gm1 + 0.5 * rk * (uk * uk + vk * vk);
    const T mk = rk * (sk - uk);
    // Star flux when the outer wave of the chosen side moves away from the face: S_L < 0 or S_R > 0.
    const auto star = (left ? s.sl : -s.sr) < 0.0;
    const T f0 = rk * uk;
    const T f1 = f0 * uk + pk;
    const T f2 = f0 * vk;
    const T f3 = uk * (ek + pk);
    const T d = 1.0 / (sk - s.s_star);
    const T rho_star = mk * d;
    const T e_star = ((sk - uk) * ek + (s.s_star - uk) * (mk * s.s_star + pk)) * d;
    Flux4<T> f;
    f.rho = star ? f0 + sk * (rho_star - rk) : f0;
    f.mn = star ? f1 + sk * (rho_star * s.s_star - rk * uk) : f1;
    f.mt = star ? f2 + sk * (rho_star * vk - rk * vk) : f2;
    f.e = star ? f3 + sk * (e_star - ek) : f3;
    return f;
}

template <class T>
inline Flux4<T> hllc_flux(T rl, T ul, T vl, T pl, T rr, T ur, T vr, T pr, const Gas& gas) {
    return hllc_flux_given(rl, ul, vl, pl, rr, ur, vr, pr, hllc_speeds(rl, ul, vl, pl, rr, ur, vr, pr, gas), gas);
}

/// HLLE flux (Harten, Lax & van Leer 1983 with Einfeldt's speeds): the most diffusive and most robust fallback.
inline Flux4<double> hlle_flux(double rl, double ul, double vl, double pl, double rr, double ur, double vr, double pr,
                               const Gas& gas) {
    const WaveSpeeds<double> s = einfeldt_speeds(rl, ul, vl, pl, rr, ur, vr, pr, gas);
    const double bl = std::min(s.sl, 0.0);
    const double br = std::max(s.sr, 0.0);
    const double inv = 1.0 / (br - bl);
    const double fl[4] = {rl * ul, rl * ul * ul + pl, rl * ul * vl, ul * (s.el + pl)};
    const double fr[4] = {rr * ur, rr * ur * ur + pr, rr * ur * vr, ur * (s.er + pr)};
    const double ql[4] = {rl, rl * ul, rl * vl, s.el};
    const double qr[4] = {rr, rr * ur, rr * vr, s.er};
    double f[4];
    for (int k = 0; k < 4; ++k) {
        f[k] = (br * fl[k] - bl * fr[k] + bl * br * (qr[k] - ql[k])) * inv;
    }
    return {f[0], f[1], f[2], f[3]};
}

/// HLLC fluxes of n faces; face f has left state (plus face of the cell before) `left[.][f]` and right state
/// `right[.][f]`, each (rho, un, ut, p). Outputs (rho, normal momentum, tangential momentum, energy) fluxes.
/// `scratch` holds 3 n doubles. Two passes (wave speeds, then fluxes) keep each loop body short enough for the
/// processor to overlap consecutive iterations; the long sqrt/division chains otherwise serialise them.
struct FaceInputs {
    const double* left[4];
    const double* right[4];
};

template <class T, bool kSpeedsPass>
inline void hllc_lane(const FaceInputs& in, int f, int n, const Gas& gas, double* scratch, double* f_rho, double* f_mn,
                      double* f_mt, double* f_e) {
    using L = Lane<T>;
    const T rl = L::load(in.left[0] + f), ul = L::load(in.left[1] + f), vl = L::load(in.left[2] + f);
    const T pl = L::load(in.left[3] + f), rr = L::load(in.right[0] + f), ur = L::load(in.right[1] + f);
    const T vr = L::load(in.right[2] + f), pr = L::load(in.right[3] + f);
    if (kSpeedsPass) {
        const WaveSpeeds<T> s = einfeldt_speeds(rl, ul, vl, pl, rr, ur, vr, pr, gas);
        L::store(scratch + f, s.sl);
        L::store(scratch + n + f, s.sr);
    } else {
        const T sl = L::load(scratch + f);
        const T sr = L::load(scratch + n + f);
        const T ml = rl * (sl - ul);
        const T mr = rr * (sr - ur);
        const HllcSpeeds<T> s{sl, sr, (pr - pl + ul * ml - ur * mr) / (ml - mr)};
        const Flux4<T> flux = hllc_flux_given(rl, ul, vl, pl, rr, ur, vr, pr, s, gas);
        L::store(f_rho + f, flux.rho);
        L::store(f_mn + f, flux.mn);
        L::store(f_mt + f, flux.mt);
        L::store(f_e + f, flux.e);
    }
}

template <bool kSpeedsPass>
inline void hllc_pass(const FaceInputs& inputs, int n, const Gas& gas, double* scratch, double* f_rho, double* f_mn,
                      double* f_mt, double* f_e) {
    const FaceInputs in = inputs;
    const Gas g = gas;
    constexpr int w = Lane<WideLane>::kWidth;
    int f = 0;
    for (; f + w <= n; f += w) {
        hllc_lane<WideLane, kSpeedsPass>(in, f, n, g, scratch, f_rho, f_mn, f_mt, f_e);
    }
    for (; f < n; ++f) {
        hllc_lane<double, kSpeedsPass>(in, f, n, g, scratch, f_rho, f_mn, f_mt, f_e);
    }
}

inline void hllc_line(const FaceInputs& in, int n, const Gas& gas, double* scratch, double* f_rho, double* f_mn,
                      double* f_mt, double* f_e) {
    hllc_pass<true>(in, n, gas, scratch, f_rho, f_mn, f_mt, f_e);
    hllc_pass<false>(in, n, gas, scratch, f_rho, f_mn, f_mt, f_e);
}

// ---- conservative update ----

/// Pointers of one row update (see update_line).
struct UpdateRow {
    Row4 in;   // stage input
    Row4 base; // U^n for the second RK2 stage
    Row4 out;
    Row4 fx_lo; // x-face fluxes below (face i) and above (face i + 1) the row
    Row4 fx_hi;
    Row4 fy;     // y-face fluxes, ny + 1
    double* bad; // element-wise count of non-physical cells
    double* a_x; // element-wise max(|u| + c)
    double* a_y; // element-wise max(|v| + c)
};

/// One cell group of update_line:
///     val = in - (dtdx (Fx_hi - Fx_lo) + dtdy (G_{j+1} - G_j)),  out = kCombine ? base / 2 + val / 2 : val.
/// The sum of the two flux terms is commutative in floating point, so transposing the problem transposes the result
/// bit for bit. A split sweep (only kX or only kY) subtracts its single term.
template <bool kX, bool kY, bool kCombine, bool kSpeeds, class T>
inline void update_lane(const UpdateRow& r, int j, double dtdx, double dtdy, const Gas& gas) {
    using L = Lane<T>;
    T v[4];
    for (int k = 0; k < 4; ++k) {
        const T in = L::load(r.in.c[k] + j);
        T val;
        if (kX && kY) {
            val = in - (dtdx * (L::load(r.fx_hi.c[k] + j) - L::load(r.fx_lo.c[k] + j)) +
                        dtdy * (L::load(r.fy.c[k] + j + 1) - L::load(r.fy.c[k] + j)));
        } else if (kX) {
            val = in - dtdx * (L::load(r.fx_hi.c[k] + j) - L::load(r.fx_lo.c[k] + j));
        } else {
            val = in - dtdy * (L::load(r.fy.c[k] + j + 1) - L::load(r.fy.c[k] + j));
        }
        if (kCombine) {
            val = 0.5 * L::load(r.base.c[k] + j) + 0.5 * val;
        }
        L::store(r.out.c[k] + j, val);
        v[k] = val;
    }
    const T inv = 1.0 / v[0];
    const T u = v[1] * inv;
    const T w = v[2] * inv;
    const T p = gas.gm1 * (v[3] - 0.5 * (v[1] * u + v[2] * w));
    const auto ok = (v[0] > 0.0) & (p > 0.0);
    L::store(r.bad + j, L::load(r.bad + j) + (ok ? L::splat(0.0) : L::splat(1.0)));
    if (kSpeeds) {
        const T c = L::sqrt(L::abs(gas.gamma * p * inv));
        L::store(r.a_x + j, vmax(L::load(r.a_x + j), L::abs(u) + c));
        L::store(r.a_y + j, vmax(L::load(r.a_y + j), L::abs(w) + c));
    }
}

template <bool kX, bool kY, bool kCombine, bool kSpeeds>
inline void update_line(const UpdateRow& row, int ny, double dtdx, double dtdy, const Gas& gas) {
    const UpdateRow r = row;
    const Gas g = gas;
    constexpr int w = Lane<WideLane>::kWidth;
    int j = 0;
    for (; j + w <= ny; j += w) {
        update_lane<kX, kY, kCombine, kSpeeds, WideLane>(r, j, dtdx, dtdy, g);
    }
    for (; j < ny; ++j) {
        update_lane<kX, kY, kCombine, kSpeeds, double>(r, j, dtdx, dtdy, g);
    }
}

/// Pressure of a conserved state, with the same operation order as primitive_row and update_lane.
inline double pressure_of(double r, double mx, double my, double e, const Gas& gas) {
    const double inv = 1.0 / r;
    return gas.gm1 * (e - 0.5 * (mx * (mx * inv) + my * (my * inv)));
}

} // namespace lola::sim::euler_detail
