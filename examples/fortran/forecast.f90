! Forecast with a trained emulator from Fortran (README, "Use a trained emulator from your code"; docs/runtime.md).
!
!   forecast MODEL.lola SOURCE.hdf5 PRED.h5
!
! The Fortran twin of examples/cpp/forecast.cpp, through the binding (module lola, bindings/fortran/lola.f90): loads
! MODEL.lola (a 2-D model), takes the first state of trajectory 0 of the Well file SOURCE.hdf5 as context, forecasts up
! to 6 states with the seed and sampler of `lola emulate`, and checks them against PRED.h5, made by
!   lola emulate --run MODEL.lola --file SOURCE.hdf5 --trajectories 0 --context 1 --seed 0 --members K --out PRED.h5
! Prints what it compared; exits with 1 when a value differs by more than the tolerance (or on an error).
program forecast
    use, intrinsic :: iso_c_binding, only: c_float, c_int64_t
    use lola
    implicit none

    character(len=4096) :: model_path, source_path, pred_path
    integer(c_int64_t) :: members, n_snapshots, n_states, k
    real(c_float), allocatable :: reference(:, :, :, :)
    real :: diff, scale, tolerance_factor
    logical :: ok

    ! README begin
    type(lola_model) :: model
    integer(c_int64_t), allocatable :: grid(:)
    integer(c_int64_t) :: n_fields, seed
    real(c_float), allocatable :: context(:, :, :, :), label(:), states(:, :, :, :, :)
    ! README end

    if (command_argument_count() /= 3) then
        write (*, '(a)') "usage: forecast MODEL.lola SOURCE.hdf5 PRED.h5"
        stop 2
    end if
    call get_command_argument(1, model_path)
    call get_command_argument(2, source_path)
    call get_command_argument(3, pred_path)
    call check(lola_well_size(trim(pred_path), members, n_snapshots))
    n_states = min(6_c_int64_t, n_snapshots - 1)

    ! README begin
    call check(lola_load(model, trim(model_path)))       ! a .lola file (or a run folder), CPU
    n_fields = lola_n_fields(model)
    grid = lola_spatial_shape(model)                      ! (nx, ny): Fortran arrays take them reversed
    if (size(grid) /= 2) error stop "forecast: this example takes a 2-D model"
    ! one context state of trajectory 0, every lola_time_stride(model) snapshots: (ny, nx, 1, n_fields)
    allocate (context(grid(2), grid(1), 1, n_fields), label(lola_label_dim(model)))
    call check(lola_well_read(trim(source_path), 0_c_int64_t, 0_c_int64_t, lola_time_stride(model), context))
    call check(lola_well_label(model, trim(source_path), label))
    ! the forecast: (ny, nx, n_states, n_fields, members), with the seed `lola emulate --seed 0` gives trajectory 0
    allocate (states(grid(2), grid(1), n_states, n_fields, members))
    seed = lola_protocol_seed(0_c_int64_t, 0_c_int64_t, 0_c_int64_t)
    call check(lola_forecast(model, context, label, states, seed=seed))
    ! README end

    ! Tolerance: lola emulate decodes its rollout in chunks of another size, so the decoder's convolutions may sum in
    ! another order. A reordered sum of n float32 terms changes by at most about n u of its magnitude (Higham's bound,
    ! u = epsilon / 2 = 2^-24 the unit roundoff); n = 4096 covers the decoder's reductions (as examples/cpp).
    tolerance_factor = 4096 * (epsilon(1.0_c_float) / 2)
    ok = .true.
    allocate (reference(grid(2), grid(1), n_states, n_fields))
    do k = 1, members
        call check(lola_well_read(trim(pred_path), k - 1, 1_c_int64_t, 1_c_int64_t, reference))
        scale = maxval(abs(reference))
        diff = maxval(abs(states(:, :, :, :, k) - reference))
        write (*, '(a, i0, a, i0, a, i0, a, i0, a, i0, a, es10.3, a, es10.3, a, es10.3, a, a)') &
            "member ", k - 1, ": ", n_states, " states x ", n_fields, " fields x ", grid(1), "x", grid(2), &
            " cells: max |forecast - lola emulate| = ", diff, ", tolerance ", tolerance_factor * scale, &
            " (4096 u x max |value| ", scale, "): ", merge("same     ", "DIFFERENT", diff <= tolerance_factor * scale)
        ok = ok .and. diff <= tolerance_factor * scale
    end do
    call lola_free(model)
    if (.not. ok) then
        write (*, '(a)') "forecast: MISMATCH with lola emulate"
        stop 1
    end if
    write (*, '(a)') "forecast: the Fortran binding gives lola emulate's numbers"

contains

    !> Stop with lola's message when a call fails.
    subroutine check(status)
        integer, intent(in) :: status
        if (status /= LOLA_OK) then
            write (*, '(a, i0, a, a)') "forecast: error ", status, ": ", lola_last_error()
            stop 1
        end if
    end subroutine check

end program forecast
