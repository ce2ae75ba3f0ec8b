/* lola's C API: load a trained emulator and forecast physical states from C, Fortran (bindings/fortran/lola.f90) or
 * any language with a C FFI. Opaque handles, caller-owned buffers with explicit shapes, no C++ types across the
 * boundary. Every function returns LOLA_OK (0) or an error code; lola_last_error() then says what went wrong (the
 * file, the value, the fix). No function aborts or throws.
 *
 * Arrays are row-major (C order) float32: a context of c states is (n_fields, c, N_1, ..., N_D), a forecast
 * (members, n_fields, n_states, N_1, ..., N_D), N_1 .. N_D the spatial sizes of the card (e.g. x then y). From
 * Fortran, declare them with the axes reversed: context(N_D, ..., N_1, c, n_fields).
 *
 * Thread safety: a handle may be used by one thread at a time; different handles are independent. */
#ifndef LOLA_LOLA_H
#define LOLA_LOLA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. */
enum {
    LOLA_OK = 0,
    LOLA_ERROR_ARGUMENT = 1, /* a null pointer, a bad index, an unknown device or sampler name */
    LOLA_ERROR_FILE = 2,     /* a missing, unreadable or corrupt file */
    LOLA_ERROR_VERSION = 3,  /* a model file of a format version this library does not read */
    LOLA_ERROR_SHAPE = 4,    /* a buffer of the wrong rank, shape, field count or label size */
    LOLA_ERROR_MEMORY = 5,   /* out of memory */
    LOLA_ERROR_RUNTIME = 6   /* anything else (the message says what) */
};

/* A loaded emulator. */
typedef struct lola_emulator lola_emulator;

/* Options of a forecast; start from lola_forecast_options_default(). */
typedef struct lola_forecast_options {
    int64_t members;     /* ensemble members (diffusion models); the neural solver gives 1 */
    uint64_t seed;       /* the forecast's random stream (diffusion) */
    const char* sampler; /* NULL or "": the model's (ddpm, ddim, ab, eab, pc) */
    int64_t steps;       /* sampler steps; 0: the model's */
} lola_forecast_options;

/* The message of the last error of the calling thread ("" when none). Valid until the thread's next lola call. */
const char* lola_last_error(void);

/* The library's version, e.g. "0.1.0". */
const char* lola_version(void);

/* Intra-op CPU threads of LibTorch for this process (default: all cores). On cores shared with other work, also set
 * OMP_WAIT_POLICY=passive in the environment before the program starts (docs/benchmarks.md). */
int lola_set_num_threads(int n);

/* Load a `.lola` model file or a run folder. device: "cpu", "cuda" or "cuda:N" (NULL: "cpu"). */
int lola_load(const char* path, const char* device, lola_emulator** out);
/* Release a handle (NULL is fine). */
void lola_free(lola_emulator* emulator);

/* The card: what the model expects. Strings stay valid while the handle lives. */
int lola_n_fields(const lola_emulator* emulator, int64_t* out);
int lola_field_name(const lola_emulator* emulator, int64_t index, const char** out);
int lola_n_spatial_dims(const lola_emulator* emulator, int64_t* out);
int lola_spatial_shape(const lola_emulator* emulator, int64_t* out); /* out[n_spatial_dims] */
int lola_label_dim(const lola_emulator* emulator, int64_t* out);
int lola_label_name(const lola_emulator* emulator, int64_t index, const char** out);
int lola_time_stride(const lola_emulator* emulator, int64_t* out); /* snapshots between consecutive states */
int lola_max_context(const lola_emulator* emulator, int64_t* out); /* context sizes 1 .. max_context */
int lola_kind(const lola_emulator* emulator, const char** out);    /* "diffusion" or "surrogate" */
int lola_compression(const lola_emulator* emulator, double* out);
int lola_n_parameters(const lola_emulator* emulator, int64_t* out); /* emulator + autoencoder */

lola_forecast_options lola_forecast_options_default(void);

/* Forecast n_states states after `context`.
 *   context, context_shape[context_rank]: (n_fields, c, N_1, ..., N_D), physical units, time_stride apart
 *   label[label_len]: the label entries in the card's order, physical units
 *   out, out_shape[out_rank]: (members, n_fields, n_states, N_1, ..., N_D); members is 1 for the neural solver
 *   options: NULL for lola_forecast_options_default()
 * Shapes are checked against the card and each other (LOLA_ERROR_SHAPE, naming the axis). The context is read in
 * place (not copied); `out` is written only when the call succeeds. */
int lola_forecast(lola_emulator* emulator, const float* context, const int64_t* context_shape, int context_rank,
                  const float* label, int64_t label_len, int64_t n_states, const lola_forecast_options* options,
                  float* out, const int64_t* out_shape, int out_rank);

/* Data assimilation (docs/method.md 7.2, MMPS): guide the forecasts of a diffusion model by observations of the states
 * it forecasts, until lola_clear_observations.
 *   observe: "subsample:K" (every K-th cell) or "downscale:K" (K x K block means); K must divide the grid
 *   observed, observed_shape[observed_rank]: (n_fields, n_states, N_1, ..., N_D), physical units, the states of the
 *     next forecasts (only the cells the operator reads matter); copied
 *   noise: the observations' noise standard deviation in standardised units (0.01 is a good start); iterations: GMRES
 *     iterations per denoiser call (1, as the paper)
 * Forecasts then need n_states equal to the observed states' count (LOLA_ERROR_SHAPE otherwise); the observation noise
 * is drawn from the forecast's seed. A neural solver or an operator that does not fit is LOLA_ERROR_ARGUMENT. */
int lola_set_observations(lola_emulator* emulator, const char* observe, const float* observed,
                          const int64_t* observed_shape, int observed_rank, double noise, int64_t iterations);
int lola_clear_observations(lola_emulator* emulator);

/* Helpers for reading inputs from files in The Well's HDF5 format (also the output of `lola emulate`). */

/* n states of trajectory `trajectory`, from snapshot t0, `stride` snapshots apart, as (n_fields, n, N_1, ..., N_D)
 * into out (out_shape[out_rank] is checked against the file). */
int lola_well_read(const char* path, int64_t trajectory, int64_t t0, int64_t n, int64_t stride, float* out,
                   const int64_t* out_shape, int out_rank);
/* The number of trajectories and of snapshots per trajectory of a Well file (either pointer may be NULL). */
int lola_well_size(const char* path, int64_t* n_trajectories, int64_t* n_snapshots);
/* The label of a Well file's trajectories for this model (its constant scalars and boundary codes, card order). */
int lola_well_label(const lola_emulator* emulator, const char* path, float* label, int64_t label_len);
/* The seed `lola emulate` and `lola eval` give the forecast of trajectory `trajectory` from snapshot `start` when run
 * with --seed `seed` (docs/method.md 8): pass it as lola_forecast_options.seed to reproduce their numbers. */
uint64_t lola_protocol_seed(int64_t seed, int64_t trajectory, int64_t start);

#ifdef __cplusplus
}
#endif

#endif /* LOLA_LOLA_H */
