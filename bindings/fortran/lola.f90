! lola's Fortran binding (docs/runtime.md, "Fortran binding"): load a trained emulator and forecast physical states
! from Fortran, over the C API of include/lola/lola.h with iso_c_binding. Compile this file with your program (the
! installed CMake package names it LOLA_FORTRAN_SOURCE) and link lola::lola.
!
! Arrays are Fortran arrays with the axes of the C API reversed (lola.h is row-major):
!   context(N_D, ..., N_1, c, n_fields)                 c context states, time_stride snapshots apart
!   forecast(N_D, ..., N_1, n_states, n_fields, members)  members: 1 for the neural solver
! with N_1 .. N_D the card's spatial sizes (lola_spatial_shape, x first), so a 2-D model on (nx, ny) takes
! context(ny, nx, c, n_fields). Spatial ranks 1 to 3 are supported.
!
! Indices into lists of the card (field and label names) start at 1, like Fortran arrays; trajectory and snapshot
! numbers of a Well file start at 0, as in the file and in `lola emulate --trajectories`.
!
! Functions that can fail return an integer status: LOLA_OK (0) or an error code, with the message in
! lola_last_error(). Card queries return -1 (or "") on a bad handle.
module lola
    use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_null_char, c_char, c_int, c_int64_t, c_size_t, &
                                           c_float, c_double, c_associated, c_f_pointer, c_loc
    implicit none
    private

    integer, parameter, public :: LOLA_OK = 0
    integer, parameter, public :: LOLA_ERROR_ARGUMENT = 1
    integer, parameter, public :: LOLA_ERROR_FILE = 2
    integer, parameter, public :: LOLA_ERROR_VERSION = 3
    integer, parameter, public :: LOLA_ERROR_SHAPE = 4
    integer, parameter, public :: LOLA_ERROR_MEMORY = 5
    integer, parameter, public :: LOLA_ERROR_RUNTIME = 6

    !> A loaded emulator (lola_load, lola_free).
    type, public :: lola_model
        type(c_ptr) :: handle = c_null_ptr
    end type lola_model

    !> lola_forecast_options of lola.h (the wrappers fill it from their optional arguments).
    type, bind(c), public :: lola_forecast_options
        integer(c_int64_t) :: members
        integer(c_int64_t) :: seed     ! uint64_t in C: the same bits
        type(c_ptr) :: sampler
        integer(c_int64_t) :: steps
    end type lola_forecast_options

    public :: lola_last_error, lola_version, lola_set_num_threads
    public :: lola_load, lola_free
    public :: lola_n_fields, lola_field_name, lola_n_spatial_dims, lola_spatial_shape, lola_label_dim, &
              lola_label_name, lola_time_stride, lola_max_context, lola_kind, lola_compression, lola_n_parameters
    public :: lola_forecast, lola_well_read, lola_well_size, lola_well_label, lola_protocol_seed

    !> status = lola_forecast(model, context, label, forecast [, seed] [, sampler] [, steps])
    !> n_states and members are the sizes of forecast's last-but-one and last axes.
    interface lola_forecast
        module procedure forecast_1d, forecast_2d, forecast_3d
    end interface lola_forecast

    !> status = lola_well_read(path, trajectory, t0, stride, states): size(states, D + 1) states of a Well file.
    interface lola_well_read
        module procedure well_read_1d, well_read_2d, well_read_3d
    end interface lola_well_read

    ! ---- the C functions --------------------------------------------------------------------------------------------
    interface
        function c_strlen(s) bind(c, name="strlen") result(n)
            import :: c_ptr, c_size_t
            type(c_ptr), value :: s
            integer(c_size_t) :: n
        end function c_strlen

        function c_lola_last_error() bind(c, name="lola_last_error") result(message)
            import :: c_ptr
            type(c_ptr) :: message
        end function c_lola_last_error

        function c_lola_version() bind(c, name="lola_version") result(version)
            import :: c_ptr
            type(c_ptr) :: version
        end function c_lola_version

        function c_lola_set_num_threads(n) bind(c, name="lola_set_num_threads") result(status)
            import :: c_int
            integer(c_int), value :: n
            integer(c_int) :: status
        end function c_lola_set_num_threads

        function c_lola_load(path, device, emulator) bind(c, name="lola_load") result(status)
            import :: c_char, c_ptr, c_int
            character(kind=c_char), dimension(*), intent(in) :: path, device
            type(c_ptr), intent(out) :: emulator
            integer(c_int) :: status
        end function c_lola_load

        subroutine c_lola_free(emulator) bind(c, name="lola_free")
            import :: c_ptr
            type(c_ptr), value :: emulator
        end subroutine c_lola_free

        function c_lola_n_fields(emulator, out) bind(c, name="lola_n_fields") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_n_fields

        function c_lola_n_spatial_dims(emulator, out) bind(c, name="lola_n_spatial_dims") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_n_spatial_dims

        function c_lola_spatial_shape(emulator, out) bind(c, name="lola_spatial_shape") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), dimension(*), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_spatial_shape

        function c_lola_label_dim(emulator, out) bind(c, name="lola_label_dim") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_label_dim

        function c_lola_time_stride(emulator, out) bind(c, name="lola_time_stride") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_time_stride

        function c_lola_max_context(emulator, out) bind(c, name="lola_max_context") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_max_context

        function c_lola_n_parameters(emulator, out) bind(c, name="lola_n_parameters") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_n_parameters

        function c_lola_compression(emulator, out) bind(c, name="lola_compression") result(status)
            import :: c_ptr, c_int, c_double
            type(c_ptr), value :: emulator
            real(c_double), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_compression

        function c_lola_field_name(emulator, index, out) bind(c, name="lola_field_name") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), value :: index
            type(c_ptr), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_field_name

        function c_lola_label_name(emulator, index, out) bind(c, name="lola_label_name") result(status)
            import :: c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            integer(c_int64_t), value :: index
            type(c_ptr), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_label_name

        function c_lola_kind(emulator, out) bind(c, name="lola_kind") result(status)
            import :: c_ptr, c_int
            type(c_ptr), value :: emulator
            type(c_ptr), intent(out) :: out
            integer(c_int) :: status
        end function c_lola_kind

        function c_lola_forecast_options_default() bind(c, name="lola_forecast_options_default") result(options)
            import :: lola_forecast_options
            type(lola_forecast_options) :: options
        end function c_lola_forecast_options_default

        function c_lola_forecast(emulator, context, context_shape, context_rank, label, label_len, n_states, &
                                 options, out, out_shape, out_rank) bind(c, name="lola_forecast") result(status)
            import :: c_ptr, c_int, c_int64_t, lola_forecast_options
            type(c_ptr), value :: emulator, context, label, out
            integer(c_int64_t), dimension(*), intent(in) :: context_shape, out_shape
            integer(c_int), value :: context_rank, out_rank
            integer(c_int64_t), value :: label_len, n_states
            type(lola_forecast_options), intent(in) :: options
            integer(c_int) :: status
        end function c_lola_forecast

        function c_lola_well_read(path, trajectory, t0, n, stride, out, out_shape, out_rank) &
            bind(c, name="lola_well_read") result(status)
            import :: c_char, c_ptr, c_int, c_int64_t
            character(kind=c_char), dimension(*), intent(in) :: path
            integer(c_int64_t), value :: trajectory, t0, n, stride
            type(c_ptr), value :: out
            integer(c_int64_t), dimension(*), intent(in) :: out_shape
            integer(c_int), value :: out_rank
            integer(c_int) :: status
        end function c_lola_well_read

        function c_lola_well_size(path, n_trajectories, n_snapshots) bind(c, name="lola_well_size") result(status)
            import :: c_char, c_int, c_int64_t
            character(kind=c_char), dimension(*), intent(in) :: path
            integer(c_int64_t), intent(out) :: n_trajectories, n_snapshots
            integer(c_int) :: status
        end function c_lola_well_size

        function c_lola_well_label(emulator, path, label, label_len) bind(c, name="lola_well_label") result(status)
            import :: c_char, c_ptr, c_int, c_int64_t
            type(c_ptr), value :: emulator
            character(kind=c_char), dimension(*), intent(in) :: path
            type(c_ptr), value :: label
            integer(c_int64_t), value :: label_len
            integer(c_int) :: status
        end function c_lola_well_label

        function c_lola_protocol_seed(seed, trajectory, start) bind(c, name="lola_protocol_seed") result(run_seed)
            import :: c_int64_t
            integer(c_int64_t), value :: seed, trajectory, start
            integer(c_int64_t) :: run_seed
        end function c_lola_protocol_seed
    end interface

contains

    ! ---- strings ----------------------------------------------------------------------------------------------------

    !> A Fortran copy of a NUL-terminated C string ("" for NULL).
    function from_c(p) result(s)
        type(c_ptr), intent(in) :: p
        character(:), allocatable :: s
        character(kind=c_char), pointer :: chars(:)
        integer :: n, i
        if (.not. c_associated(p)) then
            s = ""
            return
        end if
        n = int(c_strlen(p))
        call c_f_pointer(p, chars, [n])
        allocate (character(n) :: s)
        do i = 1, n
            s(i:i) = chars(i)
        end do
    end function from_c

    !> A NUL-terminated copy of a Fortran string (trailing blanks removed).
    function to_c(s) result(c)
        character(*), intent(in) :: s
        character(kind=c_char, len=:), allocatable :: c
        c = trim(s)//c_null_char
    end function to_c

    ! ---- library ----------------------------------------------------------------------------------------------------

    !> The message of the calling thread's last error ("" when none).
    function lola_last_error() result(message)
        character(:), allocatable :: message
        message = from_c(c_lola_last_error())
    end function lola_last_error

    !> The library's version, e.g. "0.1.0".
    function lola_version() result(version)
        character(:), allocatable :: version
        version = from_c(c_lola_version())
    end function lola_version

    !> LibTorch's intra-op CPU threads for this process.
    function lola_set_num_threads(n) result(status)
        integer, intent(in) :: n
        integer :: status
        status = int(c_lola_set_num_threads(int(n, c_int)))
    end function lola_set_num_threads

    !> Load a `.lola` model file or a run folder; device "cpu" (default), "cuda" or "cuda:N".
    function lola_load(model, path, device) result(status)
        type(lola_model), intent(inout) :: model
        character(*), intent(in) :: path
        character(*), intent(in), optional :: device
        integer :: status
        if (present(device)) then
            status = int(c_lola_load(to_c(path), to_c(device), model%handle))
        else
            status = int(c_lola_load(to_c(path), to_c("cpu"), model%handle))
        end if
    end function lola_load

    !> Release the model (a model never loaded, or already freed, is fine).
    subroutine lola_free(model)
        type(lola_model), intent(inout) :: model
        call c_lola_free(model%handle)
        model%handle = c_null_ptr
    end subroutine lola_free

    ! ---- the card ---------------------------------------------------------------------------------------------------

    !> Number of fields (channels, vector components expanded).
    function lola_n_fields(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_n_fields(model%handle, n) /= LOLA_OK) n = -1
    end function lola_n_fields

    !> Name of field i (1-based), "" when out of range.
    function lola_field_name(model, i) result(name)
        type(lola_model), intent(in) :: model
        integer, intent(in) :: i
        character(:), allocatable :: name
        type(c_ptr) :: p
        p = c_null_ptr
        if (c_lola_field_name(model%handle, int(i - 1, c_int64_t), p) /= LOLA_OK) p = c_null_ptr
        name = from_c(p)
    end function lola_field_name

    !> Number of spatial dimensions D.
    function lola_n_spatial_dims(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_n_spatial_dims(model%handle, n) /= LOLA_OK) n = -1
    end function lola_n_spatial_dims

    !> The spatial sizes (N_1, ..., N_D) of the card, x first; Fortran arrays declare them reversed.
    function lola_spatial_shape(model) result(shape)
        type(lola_model), intent(in) :: model
        integer(c_int64_t), allocatable :: shape(:)
        integer(c_int64_t) :: d
        d = lola_n_spatial_dims(model)
        if (d < 0) then
            allocate (shape(0))
            return
        end if
        allocate (shape(d))
        if (c_lola_spatial_shape(model%handle, shape) /= LOLA_OK) shape = -1
    end function lola_spatial_shape

    !> Number of label entries.
    function lola_label_dim(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_label_dim(model%handle, n) /= LOLA_OK) n = -1
    end function lola_label_dim

    !> Name of label entry i (1-based), "" when out of range.
    function lola_label_name(model, i) result(name)
        type(lola_model), intent(in) :: model
        integer, intent(in) :: i
        character(:), allocatable :: name
        type(c_ptr) :: p
        p = c_null_ptr
        if (c_lola_label_name(model%handle, int(i - 1, c_int64_t), p) /= LOLA_OK) p = c_null_ptr
        name = from_c(p)
    end function lola_label_name

    !> Snapshots of the raw simulation between consecutive states.
    function lola_time_stride(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_time_stride(model%handle, n) /= LOLA_OK) n = -1
    end function lola_time_stride

    !> Forecasts take 1 .. lola_max_context(model) context states.
    function lola_max_context(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_max_context(model%handle, n) /= LOLA_OK) n = -1
    end function lola_max_context

    !> "diffusion" or "surrogate".
    function lola_kind(model) result(kind)
        type(lola_model), intent(in) :: model
        character(:), allocatable :: kind
        type(c_ptr) :: p
        p = c_null_ptr
        if (c_lola_kind(model%handle, p) /= LOLA_OK) p = c_null_ptr
        kind = from_c(p)
    end function lola_kind

    !> Values per state / values per latent state.
    function lola_compression(model) result(rate)
        type(lola_model), intent(in) :: model
        real(c_double) :: rate
        if (c_lola_compression(model%handle, rate) /= LOLA_OK) rate = -1
    end function lola_compression

    !> Parameters of the emulator and its autoencoder.
    function lola_n_parameters(model) result(n)
        type(lola_model), intent(in) :: model
        integer(c_int64_t) :: n
        if (c_lola_n_parameters(model%handle, n) /= LOLA_OK) n = -1
    end function lola_n_parameters

    ! ---- forecasts --------------------------------------------------------------------------------------------------

    !> The C call shared by forecast_1d/2d/3d: Fortran shapes are reversed into the C API's row-major ones.
    function forecast_any(model, context, context_shape, label, label_len, out, out_shape, seed, sampler, steps) &
        result(status)
        type(lola_model), intent(in) :: model
        type(c_ptr), intent(in) :: context, label, out
        integer(c_int64_t), intent(in) :: context_shape(:), out_shape(:), label_len
        integer(c_int64_t), intent(in), optional :: seed, steps
        character(*), intent(in), optional :: sampler
        integer :: status
        type(lola_forecast_options) :: options
        character(kind=c_char), allocatable, target :: sampler_c(:)
        integer :: i
        integer(c_int64_t) :: n_states
        options = c_lola_forecast_options_default()
        options%members = out_shape(size(out_shape))
        if (present(seed)) options%seed = seed
        if (present(steps)) options%steps = steps
        if (present(sampler)) then
            allocate (sampler_c(len_trim(sampler) + 1))
            do i = 1, len_trim(sampler)
                sampler_c(i) = sampler(i:i)
            end do
            sampler_c(len_trim(sampler) + 1) = c_null_char
            options%sampler = c_loc(sampler_c)
        end if
        n_states = out_shape(size(out_shape) - 2)
        status = int(c_lola_forecast(model%handle, context, context_shape(size(context_shape):1:-1), &
                                     int(size(context_shape), c_int), label, label_len, n_states, options, out, &
                                     out_shape(size(out_shape):1:-1), int(size(out_shape), c_int)))
    end function forecast_any

    !> c_loc of a label, or NULL when it is empty.
    function label_ptr(label) result(p)
        real(c_float), intent(in), target, contiguous :: label(:)
        type(c_ptr) :: p
        p = c_null_ptr
        if (size(label) > 0) p = c_loc(label)
    end function label_ptr

    function forecast_1d(model, context, label, forecast, seed, sampler, steps) result(status)
        type(lola_model), intent(in) :: model
        real(c_float), intent(in), target, contiguous :: context(:, :, :)       ! (N_1, c, n_fields)
        real(c_float), intent(in), target, contiguous :: label(:)
        real(c_float), intent(inout), target, contiguous :: forecast(:, :, :, :) ! (N_1, n_states, n_fields, members)
        integer(c_int64_t), intent(in), optional :: seed, steps
        character(*), intent(in), optional :: sampler
        integer :: status
        status = forecast_any(model, c_loc(context), shape(context, kind=c_int64_t), label_ptr(label), &
                              size(label, kind=c_int64_t), c_loc(forecast), shape(forecast, kind=c_int64_t), &
                              seed, sampler, steps)
    end function forecast_1d

    function forecast_2d(model, context, label, forecast, seed, sampler, steps) result(status)
        type(lola_model), intent(in) :: model
        real(c_float), intent(in), target, contiguous :: context(:, :, :, :)       ! (N_2, N_1, c, n_fields)
        real(c_float), intent(in), target, contiguous :: label(:)
        real(c_float), intent(inout), target, contiguous :: forecast(:, :, :, :, :) ! (N_2, N_1, n_states, ...)
        integer(c_int64_t), intent(in), optional :: seed, steps
        character(*), intent(in), optional :: sampler
        integer :: status
        status = forecast_any(model, c_loc(context), shape(context, kind=c_int64_t), label_ptr(label), &
                              size(label, kind=c_int64_t), c_loc(forecast), shape(forecast, kind=c_int64_t), &
                              seed, sampler, steps)
    end function forecast_2d

    function forecast_3d(model, context, label, forecast, seed, sampler, steps) result(status)
        type(lola_model), intent(in) :: model
        real(c_float), intent(in), target, contiguous :: context(:, :, :, :, :)       ! (N_3, N_2, N_1, c, n_fields)
        real(c_float), intent(in), target, contiguous :: label(:)
        real(c_float), intent(inout), target, contiguous :: forecast(:, :, :, :, :, :) ! (N_3, N_2, N_1, n_states, ...)
        integer(c_int64_t), intent(in), optional :: seed, steps
        character(*), intent(in), optional :: sampler
        integer :: status
        status = forecast_any(model, c_loc(context), shape(context, kind=c_int64_t), label_ptr(label), &
                              size(label, kind=c_int64_t), c_loc(forecast), shape(forecast, kind=c_int64_t), &
                              seed, sampler, steps)
    end function forecast_3d

    ! ---- Well files -------------------------------------------------------------------------------------------------

    function well_read_any(path, trajectory, t0, stride, out, out_shape) result(status)
        character(*), intent(in) :: path
        integer(c_int64_t), intent(in) :: trajectory, t0, stride
        type(c_ptr), intent(in) :: out
        integer(c_int64_t), intent(in) :: out_shape(:)
        integer :: status
        status = int(c_lola_well_read(to_c(path), trajectory, t0, out_shape(size(out_shape) - 1), stride, out, &
                                      out_shape(size(out_shape):1:-1), int(size(out_shape), c_int)))
    end function well_read_any

    function well_read_1d(path, trajectory, t0, stride, states) result(status)
        character(*), intent(in) :: path
        integer(c_int64_t), intent(in) :: trajectory, t0, stride
        real(c_float), intent(inout), target, contiguous :: states(:, :, :) ! (N_1, n, n_fields)
        integer :: status
        status = well_read_any(path, trajectory, t0, stride, c_loc(states), shape(states, kind=c_int64_t))
    end function well_read_1d

    function well_read_2d(path, trajectory, t0, stride, states) result(status)
        character(*), intent(in) :: path
        integer(c_int64_t), intent(in) :: trajectory, t0, stride
        real(c_float), intent(inout), target, contiguous :: states(:, :, :, :) ! (N_2, N_1, n, n_fields)
        integer :: status
        status = well_read_any(path, trajectory, t0, stride, c_loc(states), shape(states, kind=c_int64_t))
    end function well_read_2d

    function well_read_3d(path, trajectory, t0, stride, states) result(status)
        character(*), intent(in) :: path
        integer(c_int64_t), intent(in) :: trajectory, t0, stride
        real(c_float), intent(inout), target, contiguous :: states(:, :, :, :, :) ! (N_3, N_2, N_1, n, n_fields)
        integer :: status
        status = well_read_any(path, trajectory, t0, stride, c_loc(states), shape(states, kind=c_int64_t))
    end function well_read_3d

    !> The number of trajectories and snapshots per trajectory of a Well file.
    function lola_well_size(path, n_trajectories, n_snapshots) result(status)
        character(*), intent(in) :: path
        integer(c_int64_t), intent(out) :: n_trajectories, n_snapshots
        integer :: status
        status = int(c_lola_well_size(to_c(path), n_trajectories, n_snapshots))
    end function lola_well_size

    !> The label of a Well file's trajectories for this model (size(label) must be lola_label_dim(model)).
    function lola_well_label(model, path, label) result(status)
        type(lola_model), intent(in) :: model
        character(*), intent(in) :: path
        real(c_float), intent(inout), target, contiguous :: label(:)
        integer :: status
        status = int(c_lola_well_label(model%handle, to_c(path), label_ptr(label), size(label, kind=c_int64_t)))
    end function lola_well_label

    !> The seed `lola emulate --seed seed` gives trajectory `trajectory` forecast from snapshot `start`.
    function lola_protocol_seed(seed, trajectory, start) result(run_seed)
        integer(c_int64_t), intent(in) :: seed, trajectory, start
        integer(c_int64_t) :: run_seed
        run_seed = c_lola_protocol_seed(seed, trajectory, start)
    end function lola_protocol_seed

end module lola
