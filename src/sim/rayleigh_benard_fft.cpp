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

void stage4(const StageArgs& a) {
    const double* xr = a.xr;
    const double* xi = a.xi;
    double* yr = a.yr;
    double* yi = a.yi;
    const int64_t nb = a.nb;
    const int64_t dm = a.s * a.m * a.ld;
    const int64_t ds = a.s * a.ld;
    for (int64_t j = 0; j < a.m; ++j) {
        const double w1r = a.twr[4 * j + 1], w1i = a.twi[4 * j + 1];
        const double w2r = a.twr[4 * j + 2], w2i = a.twi[4 * j + 2];
        const double w3r = a.twr[4 * j + 3], w3i = a.twi[4 * j + 3];
        for (int64_t q = 0; q < a.s; ++q) {
            const int64_t i0 = (q + a.s * j) * a.ld;
            const int64_t o0 = (q + a.s * 4 * j) * a.ld;
            const double* __restrict x0r = xr + i0;
            const double* __restrict x0i = xi + i0;
            const double* __restrict x1r = xr + i0 + dm;
            const double* __restrict x1i = xi + i0 + dm;
            const double* __restrict x2r = xr + i0 + 2 * dm;
            const double* __restrict x2i = xi + i0 + 2 * dm;
            const double* __restrict x3r = xr + i0 + 3 * dm;
            const double* __restrict x3i = xi + i0 + 3 * dm;
            double* __restrict y0r = yr + o0;
            double* __restrict y0i = yi + o0;
            double* __restrict y1r = yr + o0 + ds;
            double* __restrict y1i = yi + o0 + ds;
            double* __restrict y2r = yr + o0 + 2 * ds;
            double* __restrict y2i = yi + o0 + 2 * ds;
            double* __restrict y3r = yr + o0 + 3 * ds;
            double* __restrict y3i = yi + o0 + 3 * ds;
            for (int64_t c = 0; c < nb; ++c) {
                const double s02r = x0r[c] + x2r[c], s02i = x0i[c] + x2i[c];
                const double d02r = x0r[c] - x2r[c], d02i = x0i[c] - x2i[c];
                const double s13r = x1r[c] + x3r[c], s13i = x1i[c] + x3i[c];
                const double d13r = x1i[c] - x3i[c], d13i = x3r[c] - x1r[c]; // -i (a1 - a3)
                const double b1r = d02r + d13r, b1i = d02i + d13i;
                const double b2r = s02r - s13r, b2i = s02i - s13i;
                const double b3r = d02r - d13r, b3i = d02i - d13i;
                y0r[c] = s02r + s13r;
                y0i[c] = s02i + s13i;
                y1r[c] = b1r * w1r - b1i * w1i;
                y1i[c] = b1r * w1i + b1i * w1r;
                y2r[c] = b2r * w2r - b2i * w2i;
                y2i[c] = b2r * w2i + b2i * w2r;
                y3r[c] = b3r * w3r - b3i * w3i;
                y3i[c] = b3r * w3i + b3i * w3r;
            }
        }
    }
}

void stage2(const StageArgs& a) {
    const double* xr = a.xr;
    const double* xi = a.xi;
    double* yr = a.yr;
    double* yi = a.yi;
    const int64_t nb = a.nb;
    const int64_t dm = a.s * a.m * a.ld;
    const int64_t ds = a.s * a.ld;
    for (int64_t j = 0; j < a.m; ++j) {
        const double w1r = a.twr[2 * j + 1], w1i = a.twi[2 * j + 1];
        for (int64_t q = 0; q < a.s; ++q) {
            const int64_t i0 = (q + a.s * j) * a.ld;
            const int64_t o0 = (q + a.s * 2 * j) * a.ld;
            const double* __restrict x0r = xr + i0;
            const double* __restrict x0i = xi + i0;
            const double* __restrict x1r = xr + i0 + dm;
            const double* __restrict x1i = xi + i0 + dm;
            double* __restrict y0r = yr + o0;
            double* __restrict y0i = yi + o0;
            double* __restrict y1r = yr + o0 + ds;
            double* __restrict y1i = yi + o0 + ds;
            for (int64_t c = 0; c < nb; ++c) {
                const double dr = x0r[c] - x1r[c], di = x0i[c] - x1i[c];
                y0r[c] = x0r[c] + x1r[c];
                y0i[c] = x0i[c] + x1i[c];
                y1r[c] = dr * w1r - di * w1i;
                y1i[c] = dr * w1i + di * w1r;
            }
        }
    }
}

void stage3(const StageArgs& a) {
    const double* xr = a.xr;
    const double* xi = a.xi;
    double* yr = a.yr;
    double* yi = a.yi;
    const int64_t nb = a.nb;
    const int64_t dm = a.s * a.m * a.ld;
    const int64_t ds = a.s * a.ld;
    const double hs = std::sqrt(3.0) / 2.0;
    for (int64_t j = 0; j < a.m; ++j) {
        const double w1r = a.twr[3 * j + 1], w1i = a.twi[3 * j + 1];
        const double w2r = a.twr[3 * j + 2], w2i = a.twi[3 * j + 2];
        for (int64_t q = 0; q < a.s; ++q) {
            const int64_t i0 = (q + a.s * j) * a.ld;
            const int64_t o0 = (q + a.s * 3 * j) * a.ld;
            const double* __restrict x0r = xr + i0;
            const double* __restrict x0i = xi + i0;
            const double* __restrict x1r = xr + i0 + dm;
            const double* __restrict x1i = xi + i0 + dm;
            const double* __restrict x2r = xr + i0 + 2 * dm;
            const double* __restrict x2i = xi + i0 + 2 * dm;
            double* __restrict y0r = yr + o0;
            double* __restrict y0i = yi + o0;
            double* __restrict y1r = yr + o0 + ds;
            double* __restrict y1i = yi + o0 + ds;
            double* __restrict y2r = yr + o0 + 2 * ds;
            double* __restrict y2i = yi + o0 + 2 * ds;
            for (int64_t c = 0; c < nb; ++c) {
                const double sr = x1r[c] + x2r[c], si = x1i[c] + x2i[c];
                const double mr = x0r[c] - 0.5 * sr, mi = x0i[c] - 0.5 * si;
                const double rr = hs * (x1i[c] - x2i[c]), ri = -hs * (x1r[c] - x2r[c]); // -i (sqrt3/2) (a1 - a2)
                y0r[c] = x0r[c] + sr;
                y0i[c] = x0i[c] + si;
                y1r[c] = (mr + rr) * w1r - (mi + ri) * w1i;
                y1i[c] = (mr + rr) * w1i + (mi + ri) * w1r;
                y2r[c] = (mr - rr) * w2r - (mi - ri) * w2i;
                y2i[c] = (mr - rr) * w2i + (mi - ri) * w2r;
            }
        }
    }
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
