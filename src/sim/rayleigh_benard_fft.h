// Private: a small mixed-radix real FFT (radices 4, 2, 3, 5) for the Rayleigh-Benard solver's x transforms.
//
// Why our own: LibTorch is not available to lola::sim, FFTW is GPL-2+ (lola is MIT), pocketfft is not packaged in
// Debian bookworm and Debian's kissfft ships single precision only. The transforms here are short (64-1024 points,
// sizes 2^a 3^b 5^c) and come in batches of rows, so a self-sorting Stockham FFT that runs over a block of rows at
// once (structure of arrays, the row index innermost) is simple and vectorises without special instructions.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace lola::sim::detail {

using Complex = std::complex<double>;

/// Whether n has no prime factor other than 2, 3 and 5.
bool fft_size_supported(int64_t n);

/// Real DFTs of even length n over batches of rows.
///
/// Convention: forward gives c_m = (1/n) sum_i f_i exp(-2 pi i m i / n) for m = 0 .. n/2, so that
/// f_i = sum_{m=-n/2+1}^{n/2} c_m exp(2 pi i m i / n) with c_{-m} = conj(c_m); inverse evaluates that sum.
/// Internally f is packed as z_j = f_{2j} + i f_{2j+1} and transformed by a complex FFT of length n/2.
class RealFftBatch {
public:
    explicit RealFftBatch(int64_t n, int64_t block = 16);

    int64_t size() const { return n_; }

    /// `rows` rows of n reals (row r at in + r in_stride) to n/2 + 1 coefficients each (at out + r out_stride).
    void forward(const double* in, int64_t in_stride, Complex* out, int64_t out_stride, int64_t rows);

    /// The inverse, using only coefficients m < m_keep (higher ones are taken as zero; m_keep <= n/2 + 1). The
    /// imaginary parts of c_0 and c_{n/2} are ignored.
    void inverse(const Complex* in, int64_t in_stride, double* out, int64_t out_stride, int64_t rows, int64_t m_keep);

private:
    struct Stage {
        int64_t radix;      // p
        int64_t length;     // length of the sub-transforms this stage splits
        int64_t stride;     // number of interleaved sub-transforms
        int64_t twiddle_at; // offset of this stage's (length / p) x p twiddles
    };

    // Complex DFT of length n/2 of the `batch` columns held in re_/im_ ([index][column]); returns the arrays that
    // hold the result (re_/im_ or the work arrays).
    void complex_forward(int64_t batch, double** out_re, double** out_im);

    int64_t n_;
    int64_t half_;
    int64_t block_;
    int64_t ld_; // column stride of the work arrays
    std::vector<Stage> stages_;
    std::vector<double> tw_re_, tw_im_;
    std::vector<double> root_re_, root_im_; // exp(-2 pi i m / n), m = 0 .. n/2
    std::vector<double> pool_;
    double* re_ = nullptr; // [index][column] work arrays inside pool_
    double* im_ = nullptr;
    double* work_re_ = nullptr;
    double* work_im_ = nullptr;
};

} // namespace lola::sim::detail
