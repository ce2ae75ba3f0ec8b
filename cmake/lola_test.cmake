# lola_add_test(NAME SOURCES a.cpp ... LINK lola::x ... LABELS unit ...)
# One executable per module keeps link times sane against LibTorch on 2 cores.
function(lola_add_test name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LINK;LABELS" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_LINK} lola_test_support GTest::gtest GTest::gtest_main)
    lola_set_warnings(${name})
    gtest_discover_tests(${name}
        DISCOVERY_MODE PRE_TEST
        # Listing loads LibTorch; on a loaded or cold machine that exceeds the default 5 s discovery timeout.
        DISCOVERY_TIMEOUT 120
        # One OpenMP thread per test process: ctest runs tests in parallel, and OpenMP teams spinning on shared cores
        # slow each other down by 20x or more (bench/bench_train_ae.cpp, docs/benchmarks.md).
        PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300 ENVIRONMENT OMP_NUM_THREADS=1
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
