# lola as a library for users' programs (docs/runtime.md, "Installed package"): liblola.so, the lola::lola target and
# `cmake --install build --prefix P`, which installs
#   include/lola/**              the public headers, lola/version.h and lola/lola.h (the C API)
#   lib/liblola_<module>.a       the module libraries (position-independent)
#   lib/liblola.so               every module but figures in one shared library
#   lib/cmake/lola/              lolaConfig.cmake, lolaConfigVersion.cmake, lolaTargets.cmake
#   share/lola/fortran/lola.f90  the Fortran binding (LOLA_FORTRAN_SOURCE)
#   share/lola/configs/          the presets (core::config_search_path() finds them beside bin/ and lib/)
#   bin/lola                     the command-line tool
# Users need only find_package(lola) and target_link_libraries(app PRIVATE lola::lola): lola::lola carries LibTorch
# (with the libstdc++ link order of cmake/lola_deps.cmake), HDF5, yaml-cpp, fmt, nlohmann-json and Threads.
include(CMakePackageConfigHelpers)

# Every library module except figures (cairo; only the CLI draws), in link order (dependents first).
set(LOLA_LIBRARY_MODULES runtime diffusion surrogate emulation autoencoder metrics sim train distributed data nn io core)
set(lola_module_targets)
foreach(module ${LOLA_LIBRARY_MODULES})
    list(APPEND lola_module_targets lola_${module})
    set_target_properties(lola_${module} PROPERTIES EXPORT_NAME ${module})
endforeach()
list(TRANSFORM LOLA_LIBRARY_MODULES PREPEND lola:: OUTPUT_VARIABLE LOLA_EXPORTED_MODULES) # for lolaConfig.cmake
set_target_properties(lola_torch PROPERTIES EXPORT_NAME torch)
set_target_properties(lola_hdf5 PROPERTIES EXPORT_NAME hdf5)

# liblola.so: the modules' position-independent objects, whole archives, in one shared library. Built in every
# configuration (a link only, from the objects the static modules already have), so that the installed package always
# offers both and the install test links its example against each.
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/lola_shared.cpp
     CONTENT "// liblola.so: its code comes whole from the module archives (cmake/lola_install.cmake).\n")
add_library(lola_shared SHARED ${PROJECT_BINARY_DIR}/lola_shared.cpp)
set_target_properties(lola_shared PROPERTIES OUTPUT_NAME lola EXPORT_NAME shared VERSION ${PROJECT_VERSION}
                                             SOVERSION ${PROJECT_VERSION_MAJOR} LINKER_LANGUAGE CXX)
target_link_libraries(lola_shared PRIVATE "-Wl,--whole-archive" ${lola_module_targets} "-Wl,--no-whole-archive")
# what the public headers need: their include folders, LibTorch, fmt (header-only), yaml-cpp, threads
target_link_libraries(lola_shared PUBLIC lola_torch fmt::fmt-header-only yaml-cpp Threads::Threads)
target_include_directories(lola_shared PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
add_library(lola::shared ALIAS lola_shared)

# lola::lola: the static modules by default, liblola.so with -DBUILD_SHARED_LIBS=ON. (The executable target `lola`
# is the CLI, hence the name lola_lib.) Users may pick the other one with -DLOLA_SHARED=ON/OFF (lolaConfig.cmake).
add_library(lola_lib INTERFACE)
set_target_properties(lola_lib PROPERTIES EXPORT_NAME lola)
if(BUILD_SHARED_LIBS)
    target_link_libraries(lola_lib INTERFACE lola_shared)
else()
    target_link_libraries(lola_lib INTERFACE ${lola_module_targets})
endif()
add_library(lola::lola ALIAS lola_lib)

# ---- install --------------------------------------------------------------------------------------------------------
set(LOLA_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/lola)
set(LOLA_INSTALL_FORTRANDIR ${CMAKE_INSTALL_DATADIR}/lola/fortran)
set(LOLA_INSTALL_CONFIGDIR ${CMAKE_INSTALL_DATADIR}/lola/configs)

install(TARGETS ${lola_module_targets} lola_torch lola_hdf5 lola_shared lola_lib EXPORT lolaTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lola DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "figures" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/lola/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lola)
install(FILES ${PROJECT_SOURCE_DIR}/bindings/fortran/lola.f90 DESTINATION ${LOLA_INSTALL_FORTRANDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${LOLA_INSTALL_CONFIGDIR})
if(TARGET lola)
    install(TARGETS lola RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT lolaTargets NAMESPACE lola:: DESTINATION ${LOLA_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lolaConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/lolaConfig.cmake
                              INSTALL_DESTINATION ${LOLA_INSTALL_CMAKEDIR}
                              PATH_VARS LOLA_INSTALL_FORTRANDIR LOLA_INSTALL_CONFIGDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: minor versions may break the API; from 1.0, the same major version
if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(lola_compatibility SameMinorVersion)
else()
    set(lola_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lolaConfigVersion.cmake
                                 COMPATIBILITY ${lola_compatibility})
install(FILES ${PROJECT_BINARY_DIR}/lolaConfig.cmake ${PROJECT_BINARY_DIR}/lolaConfigVersion.cmake
        DESTINATION ${LOLA_INSTALL_CMAKEDIR})
