# Every LOLA_* option in one place.
option(LOLA_BUILD_TESTS          "lola: build the GoogleTest suite"                 ${LOLA_STANDALONE})
option(LOLA_BUILD_APPS           "lola: build the lola command-line tool"           ${LOLA_STANDALONE})
option(LOLA_BUILD_BENCH          "lola: build the Google Benchmark programs"        ${LOLA_STANDALONE})
option(LOLA_WARNINGS_AS_ERRORS   "lola: treat compiler warnings as errors"          OFF)
option(LOLA_CCACHE               "lola: use ccache when it is installed"            ON)
option(LOLA_PCH                  "lola: precompile the LibTorch headers"            ON)
option(LOLA_SANITIZE_ADDRESS     "lola: build with AddressSanitizer"                OFF)
option(LOLA_SANITIZE_UNDEFINED   "lola: build with UndefinedBehaviorSanitizer"      OFF)
