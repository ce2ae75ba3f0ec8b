// Batched mixed-radix (4, 2, 3, 5) self-sorting Stockham FFT and the real FFT built on it (rayleigh_benard_fft.h).
#include "rayleigh_benard_fft.h"

#include "lola/core/error.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lola::sim::detail {

namespace {

constexpr double kPi = 3.14159265358979323846;

void unit_root(int64_t num, int64_t den, double& re, double& im) {
    const double angle = -2.0 * kPi * static_cast<double>(num) / static_cast<double>(den);
    re = std::cos(angle);
    im = std::sin(angle);
}

} // namespace

bool fft_size_supported(int64_t n) {
    if (n < 1) {
        return false;
    }
    for (int64_t p : {2, 3, 5}) {
        while (n % p == 0) {
            n /= p;
        }
    }
    return n == 1;
}

RealFftBatch::RealFftBatch(int64_t n, int64_t block) : n_(n), half_(n / 2), block_(block) {
    LOLA_CHECK(n >= 2 && n % 2 == 0 && fft_size_supported(n / 2),
               "internal FFT: length {} must be even with no prime factor above 5", n);
    std::vector<int64_t> radices;
    int64_t rest = half_;
    while (rest % 4 == 0) {
        radices.push_back(4);
        rest /= 4;
    }
    for (int64_t p : {2, 3, 5}) {
        while (rest % p == 0) {
            radices.push_back(p);
            rest /= p;
        }
    }
    int64_t stride = 1;
    for (int64_t p : radices) {
        const int64_t length = half_ / stride;
        stages_.push_back({p, length, stride, static_cast<int64_t>(tw_re_.size())});
        for (int64_t j = 0; j < length / p; ++j) {
            for (int64_t t = 0; t < p; ++t) {
                double re = 0.0;
                double im = 0.0;
                unit_root(j * t, length, re, im);
                tw_re_.push_back(re);
                tw_im_.push_back(im);
            }
        }
        stride *= p;
    }
    root_re_.resize(half_ + 1);
    root_im_.resize(half_ + 1);
    for (int64_t m = 0; m <= half_; ++m) {
        unit_root(m, n, root_re_[m], root_im_[m]);
    }
    // Columns of block + 2 values and staggered array offsets keep the load and store streams of a stage from
    // sharing their low 12 address bits (4K aliasing stalls made power-of-two layouts 2x slower).
    ld_ = block_ + 2;
    const int64_t size = half_ * ld_ + 24;
    pool_.assign(static_cast<size_t>(4 * size + 64), 0.0);
    re_ = pool_.data();
    im_ = re_ + size + 8;
    work_re_ = im_ + size + 8;
    work_im_ = work_re_ + size + 8;
}

// One decimation-in-frequency stage: with m = length / p, input j + r m (r < p) of each of the `stride` interleaved
// sub-sequences feeds output p j + t (t < p) after a length-p DFT and the twiddle exp(-2 pi i j t / length). The
// next stage sees stride * p interleaved sequences of length m, so the result ends in natural order. Every index
// addresses a column of `nb` contiguous values (one per row of the batch): that is the vectorised inner loop.
namespace {

struct StageArgs {
    const double* xr;
    const double* xi;
    double* yr;
    double* yi;
    const double* twr;
    const double* twi;
    int64_t s, m, nb, ld; // stride, sub-length, batch count, column stride (>= nb)
};

// The loops every tuned radix shares: for each twiddle row j and interleaved sub-sequence q, gather the P inputs
// of a column, let `butterfly` turn them into the P outputs of the length-P DFT (b[0] .. b[P-1]), and store
// b[0] and b[t] exp(-2 pi i j t / length) for t > 0. The butterfly is inlined, so each radix compiles to the
// loop it had when written out by hand (the same operations in the same order: the same bits).
template <int P, class Butterfly>
void radix_stage(const StageArgs& a, Butterfly butterfly) {
    const int64_t nb = a.nb;
    const int64_t dm = a.s * a.m * a.ld;
    const int64_t ds = a.s * a.ld;
    for (int64_t j = 0; j < a.m; ++j) {
        double wr[P];
        double wi[P];
        for (int t = 1; t < P; ++t) {
            wr[t] = a.twr[P * j + t];
            wi[t] = a.twi[P * j + t];
        }
        for (int64_t q = 0; q < a.s; ++q) {
            const int64_t i0 = (q + a.s * j) * a.ld;
            const int64_t o0 = (q + a.s * P * j) * a.ld;
            const double* xr[P];
            const double* xi[P];
            double* yr[P];
            double* yi[P];
            for (int r = 0; r < P; ++r) {
                xr[r] = a.xr + i0 + r * dm;
                xi[r] = a.xi + i0 + r * dm;
                yr[r] = a.yr + o0 + r * ds;
                yi[r] = a.yi + o0 + r * ds;
            }
            // The P input and P output columns never overlap (two distinct buffers, disjoint columns).
#if defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#elif defined(__GNUC__)
#pragma GCC ivdep
#endif
            for (int64_t c = 0; c < nb; ++c) {
                double ar[P];
                double ai[P];
                double br[P];
                double bi[P];
                for (int r = 0; r < P; ++r) {
                    ar[r] = xr[r][c];
                    ai[r] = xi[r][c];
                }
                butterfly(ar, ai, br, bi);
                yr[0][c] = br[0];
                yi[0][c] = bi[0];
                for (int t = 1; t < P; ++t) {
                    yr[t][c] = br[t] * wr[t] - bi[t] * wi[t];
                    yi[t][c] = br[t] * wi[t] + bi[t] * wr[t];
                }
            }
        }
    }
}

void stage4(const StageArgs& a) {
    radix_stage<4>(a, [](const double* xr, const double* xi, double* br, double* bi) {
        const double s02r = xr[0] + xr[2], s02i = xi[0] + xi[2];
        const double d02r = xr[0] - xr[2], d02i = xi[0] - xi[2];
        const double s13r = xr[1] + xr[3], s13i = xi[1] + xi[3];
        const double d13r = xi[1] - xi[3], d13i = xr[3] - xr[1]; // -i (a1 - a3)
        br[0] = s02r + s13r;
        bi[0] = s02i + s13i;
        br[1] = d02r + d13r;
        bi[1] = d02i + d13i;
        br[2] = s02r - s13r;
        bi[2] = s02i - s13i;
        br[3] = d02r - d13r;
        bi[3] = d02i - d13i;
    });
}

void stage2(const StageArgs& a) {
    radix_stage<2>(a, [](const double* xr, const double* xi, double* br, double* bi) {
        br[0] = xr[0] + xr[1];
        bi[0] = xi[0] + xi[1];
        br[1] = xr[0] - xr[1];
        bi[1] = xi[0] - xi[1];
    });
}

void stage3(const StageArgs& a) {
    const double hs = std::sqrt(3.0) / 2.0;
    radix_stage<3>(a, [hs](const double* xr, const double* xi, double* br, double* bi) {
        const double sr = xr[1] + xr[2], si = xi[1] + xi[2];
        const double mr = xr[0] - 0.5 * sr, mi = xi[0] - 0.5 * si;
        const double rr = hs * (xi[1] - xi[2]), ri = -hs * (xr[1] - xr[2]); // -i (sqrt3/2) (a1 - a2)
        br[0] = xr[0] + sr;
        bi[0] = xi[0] + si;
        br[1] = mr + rr;
        bi[1] = mi + ri;
        br[2] = mr - rr;
        bi[2] = mi - ri;
    });
}

// Radix 5 as a direct length-5 DFT (rare sizes only; not tuned).
void stage5(const StageArgs& a) {
    constexpr int64_t p = 5;
    double er[p];
    double ei[p];
    for (int64_t r = 0; r < p; ++r) {
        unit_root(r, p, er[r], ei[r]);
    }
    const int64_t nb = a.nb;
    const int64_t dm = a.s * a.m * a.ld;
    const int64_t ds = a.s * a.ld;
    for (int64_t j = 0; j < a.m; ++j) {
        for (int64_t q = 0; q < a.s; ++q) {
            const int64_t i0 = (q + a.s * j) * a.ld;
            const int64_t o0 = (q + a.s * p * j) * a.ld;
            for (int64_t t = 0; t < p; ++t) {
                const double wr = a.twr[p * j + t], wi = a.twi[p * j + t];
                for (int64_t c = 0; c < nb; ++c) {
                    double sr = 0.0;
                    double si = 0.0;
                    for (int64_t r = 0; r < p; ++r) {
                        const double cr = er[(r * t) % p], ci = ei[(r * t) % p];
                        const double xr = a.xr[i0 + r * dm + c], xi = a.xi[i0 + r * dm + c];
                        sr += xr * cr - xi * ci;
                        si += xr * ci + xi * cr;
                    }
                    a.yr[o0 + t * ds + c] = sr * wr - si * wi;
                    a.yi[o0 + t * ds + c] = sr * wi + si * wr;
                }
            }
        }
    }
}

} // namespace

void RealFftBatch::complex_forward(int64_t batch, double** out_re, double** out_im) {
    double* xr = re_;
    double* xi = im_;
    double* yr = work_re_;
    double* yi = work_im_;
    for (const Stage& st : stages_) {
        const StageArgs args{xr,
                             xi,
                             yr,
                             yi,
                             tw_re_.data() + st.twiddle_at,
                             tw_im_.data() + st.twiddle_at,
                             st.stride,
                             st.length / st.radix,
                             batch,
                             ld_};
        switch (st.radix) {
            case 4:
                stage4(args);
                break;
            case 2:
                stage2(args);
                break;
            case 3:
                stage3(args);
                break;
            default:
                stage5(args);
                break;
        }
        std::swap(xr, yr);
        std::swap(xi, yi);
    }
    *out_re = xr;
    *out_im = xi;
}

// With Z = DFT(z): E_m = (Z_m + conj Z_{M-m}) / 2 and O_m = (Z_m - conj Z_{M-m}) / 2i are the DFTs of the even and
// odd samples, and F_m = E_m + exp(-2 pi i m / n) O_m.
void RealFftBatch::forward(const double* in, int64_t in_stride, Complex* out, int64_t out_stride, int64_t rows) {
    const double scale = 0.5 / static_cast<double>(n_);
    for (int64_t r0 = 0; r0 < rows; r0 += block_) {
        const int64_t nb = std::min(block_, rows - r0);
        for (int64_t c = 0; c < nb; ++c) {
            const double* f = in + (r0 + c) * in_stride;
            for (int64_t j = 0; j < half_; ++j) {
                re_[j * ld_ + c] = f[2 * j];
                im_[j * ld_ + c] = f[2 * j + 1];
            }
        }
        double* zr = nullptr;
        double* zi = nullptr;
        complex_forward(nb, &zr, &zi);
        for (int64_t m = 0; m <= half_; ++m) {
            const double* ar = zr + (m == half_ ? 0 : m) * ld_;
            const double* ai = zi + (m == half_ ? 0 : m) * ld_;
            const double* br = zr + (m == 0 ? 0 : half_ - m) * ld_;
            const double* bi = zi + (m == 0 ? 0 : half_ - m) * ld_;
            const double rr = scale * root_re_[m], ri = scale * root_im_[m];
            Complex* o = out + r0 * out_stride + m;
            for (int64_t c = 0; c < nb; ++c) {
                const double er = ar[c] + br[c], ei = ai[c] - bi[c];
                const double odd_r = ai[c] + bi[c], odd_i = br[c] - ar[c]; // -i (Z_m - conj Z_{M-m})
                o[c * out_stride] = Complex(scale * er + rr * odd_r - ri * odd_i, scale * ei + rr * odd_i + ri * odd_r);
            }
        }
    }
}

// Inverse: rebuild Z_m = E_m + i O_m (for m < M) from the coefficients, then z = conj(DFT(conj Z)).
void RealFftBatch::inverse(const Complex* in, int64_t in_stride, double* out, int64_t out_stride, int64_t rows,
                           int64_t m_keep) {
    for (int64_t r0 = 0; r0 < rows; r0 += block_) {
        const int64_t nb = std::min(block_, rows - r0);
        const Complex* block_in = in + r0 * in_stride;
        for (int64_t m = 0; m < half_; ++m) {
            const int64_t mc = m == 0 ? half_ : half_ - m; // partner coefficient, conjugated
            const double use_m = m < m_keep ? 1.0 : 0.0;
            const double use_c = mc < m_keep ? 1.0 : 0.0;
            const double keep_im = m == 0 ? 0.0 : 1.0;        // c_0 and c_{n/2} are real
            const double rr = root_re_[m], ri = -root_im_[m]; // conj(root)
            double* zr = re_ + m * ld_;
            double* zi = im_ + m * ld_;
            for (int64_t c = 0; c < nb; ++c) {
                const Complex cm = use_m > 0 ? block_in[c * in_stride + m] : Complex(0.0, 0.0);
                const Complex cp = use_c > 0 ? block_in[c * in_stride + mc] : Complex(0.0, 0.0);
                const double cmr = cm.real(), cmi = keep_im * cm.imag();
                const double ccr = cp.real(), cci = -keep_im * cp.imag();
                const double er = cmr + ccr, ei = cmi + cci;
                const double dr = cmr - ccr, di = cmi - cci;
                const double odd_r = dr * rr - di * ri, odd_i = dr * ri + di * rr;
                zr[c] = er - odd_i;    // Re(E + i O)
                zi[c] = -(ei + odd_r); // -Im(E + i O): transform the conjugate
            }
        }
        double* zr = nullptr;
        double* zi = nullptr;
        complex_forward(nb, &zr, &zi);
        for (int64_t c = 0; c < nb; ++c) {
            double* f = out + (r0 + c) * out_stride;
            for (int64_t j = 0; j < half_; ++j) {
                f[2 * j] = zr[j * ld_ + c];
                f[2 * j + 1] = -zi[j * ld_ + c];
            }
        }
    }
}

} // namespace lola::sim::detail
