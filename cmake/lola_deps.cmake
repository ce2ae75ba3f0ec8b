# Find every dependency; each failure says how to fix it.
set(LOLA_FIX_HINT "run scripts/setup (it installs Debian packages and LibTorch), or install the package by hand")

find_package(Threads REQUIRED)

find_package(HDF5 COMPONENTS C)
if(NOT HDF5_FOUND)
    message(FATAL_ERROR "lola: HDF5 (C library) not found: ${LOLA_FIX_HINT} (Debian: libhdf5-dev)")
endif()
add_library(lola_hdf5 INTERFACE)
target_include_directories(lola_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(lola_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(lola_hdf5 INTERFACE ${HDF5_DEFINITIONS})

foreach(pkg fmt yaml-cpp nlohmann_json CLI11)
    find_package(${pkg} CONFIG QUIET)
    if(NOT ${pkg}_FOUND)
        message(FATAL_ERROR "lola: ${pkg} not found: ${LOLA_FIX_HINT} (Debian: libfmt-dev libyaml-cpp-dev "
                            "nlohmann-json3-dev libcli11-dev)")
    endif()
endforeach()

# OpenSSL's libcrypto (Apache-2.0): SHA-512 for CPython-compatible string seeds (lola::core).
find_package(OpenSSL COMPONENTS Crypto)
if(NOT OpenSSL_FOUND)
    message(FATAL_ERROR "lola: OpenSSL's libcrypto not found: ${LOLA_FIX_HINT} (Debian: libssl-dev)")
endif()

find_package(PNG)
# cairo (LGPL-2.1 or MPL-1.1, linked dynamically): figures as PNG and SVG.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)

# ---- LibTorch ------------------------------------------------------------------------------------------------------
# TorchConfig.cmake of a CUDA build of LibTorch (the PyPI wheel) insists on a CUDA toolkit, which a CPU-only machine
# lacks, although lola has no CUDA code of its own. Where the toolkit is missing we locate Torch's config only to learn
# its folders and link the shared libraries directly; CUDA still works at run time where a driver exists.
find_package(CUDAToolkit QUIET)
find_path(LOLA_TORCH_CONFIG_DIR TorchConfig.cmake PATH_SUFFIXES share/cmake/Torch Torch)
if(NOT LOLA_TORCH_CONFIG_DIR AND Torch_DIR)
    set(LOLA_TORCH_CONFIG_DIR ${Torch_DIR})
endif()
if(NOT LOLA_TORCH_CONFIG_DIR)
    message(FATAL_ERROR "lola: LibTorch not found: ${LOLA_FIX_HINT}, or point CMake at a LibTorch with "
                        "-DCMAKE_PREFIX_PATH=/path/to/libtorch (or `python3 -c 'import torch; "
                        "print(torch.utils.cmake_prefix_path)'`)")
endif()
get_filename_component(LOLA_TORCH_ROOT "${LOLA_TORCH_CONFIG_DIR}/../../.." ABSOLUTE)
set(LOLA_TORCH_LIBDIR ${LOLA_TORCH_ROOT}/lib)

# The direct link of LibTorch's shared libraries: --no-as-needed keeps libtorch_cuda linked so that its CUDA kernels
# register at start-up.
set(lola_torch_libs)
foreach(lib torch torch_cpu c10 torch_cuda c10_cuda)
    if(EXISTS ${LOLA_TORCH_LIBDIR}/lib${lib}.so)
        list(APPEND lola_torch_libs ${LOLA_TORCH_LIBDIR}/lib${lib}.so)
    endif()
endforeach()
set(lola_torch_direct "-Wl,--no-as-needed" ${lola_torch_libs} "-Wl,--as-needed" "-Wl,-rpath,${LOLA_TORCH_LIBDIR}")
set(lola_torch_includes ${LOLA_TORCH_ROOT}/include ${LOLA_TORCH_ROOT}/include/torch/csrc/api/include)

add_library(lola_torch INTERFACE)
# libtorch.so exports its own copies of std::filesystem functions (some of which crash when called from our code,
# e.g. remove_all). Listing libstdc++ before LibTorch puts it first in the dynamic symbol search order. The installed
# package (cmake/lola_install.cmake) exports this target as lola::torch, so users' programs link the same way.
target_link_libraries(lola_torch INTERFACE "-Wl,--push-state,--no-as-needed" stdc++ "-Wl,--pop-state")
if(CUDAToolkit_FOUND OR NOT EXISTS ${LOLA_TORCH_LIBDIR}/libtorch_cuda.so)
    set(Torch_DIR ${LOLA_TORCH_CONFIG_DIR})
    find_package(Torch REQUIRED CONFIG)
    # Installed, the direct link: users' programs then need neither TorchConfig.cmake nor a CUDA toolkit.
    target_link_libraries(lola_torch INTERFACE "$<BUILD_INTERFACE:${TORCH_LIBRARIES}>"
                                               "$<INSTALL_INTERFACE:${lola_torch_direct}>")
    target_include_directories(lola_torch SYSTEM INTERFACE "$<BUILD_INTERFACE:${TORCH_INCLUDE_DIRS}>"
                                                           "$<INSTALL_INTERFACE:${lola_torch_includes}>")
    if(TORCH_CXX_FLAGS)
        separate_arguments(lola_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
        target_compile_options(lola_torch INTERFACE "$<$<COMPILE_LANGUAGE:CXX>:${lola_torch_flags}>")
    endif()
    message(STATUS "lola: LibTorch ${Torch_VERSION} from ${LOLA_TORCH_ROOT} (TorchConfig)")
else()
    target_link_libraries(lola_torch INTERFACE ${lola_torch_direct})
    target_include_directories(lola_torch SYSTEM INTERFACE ${lola_torch_includes})
    message(STATUS "lola: LibTorch from ${LOLA_TORCH_ROOT} (direct link; no CUDA toolkit found)")
endif()
add_library(lola::torch ALIAS lola_torch)
if(LOLA_REQUIRE_CUDA AND NOT (CUDAToolkit_FOUND AND EXISTS ${LOLA_TORCH_LIBDIR}/libtorch_cuda.so))
    message(FATAL_ERROR "lola: LOLA_REQUIRE_CUDA (the cuda preset) needs a CUDA build of LibTorch "
                        "(libtorch_cuda.so in ${LOLA_TORCH_LIBDIR}) and the CUDA toolkit (found: "
                        "${CUDAToolkit_FOUND}; set CUDAToolkit_ROOT or put nvcc on PATH)")
endif()

if(LOLA_BUILD_TESTS)
    find_package(GTest)
    if(NOT GTest_FOUND)
        message(FATAL_ERROR "lola: GoogleTest not found: ${LOLA_FIX_HINT} (Debian: libgtest-dev libgmock-dev)")
    endif()
    include(GoogleTest)
endif()
if(LOLA_BUILD_BENCH)
    find_package(benchmark CONFIG)
    if(NOT benchmark_FOUND)
        message(WARNING "lola: Google Benchmark not found, benchmarks are skipped (Debian: libbenchmark-dev)")
        set(LOLA_BUILD_BENCH OFF)
    endif()
endif()
