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
        # One OpenMP thread per test process by default: ctest runs tests in parallel, and OpenMP teams spinning on
        # shared cores slow each other down by 20x or more (bench/bench_train_ae.cpp, docs/benchmarks.md).
        # scripts/test-portability sets LOLA_TEST_THREADS to 2 and 7 as well.
        # OMP_WAIT_POLICY set: the lola binary then skips the re-execution that sets it (0.3 s per call).
        PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300
                   ENVIRONMENT "OMP_NUM_THREADS=${LOLA_TEST_THREADS};OMP_WAIT_POLICY=PASSIVE"
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
