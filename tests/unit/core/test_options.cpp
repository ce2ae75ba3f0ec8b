// The config adapter layer (include/lola/core/options.h, docs/configuration.md): one description per options struct
// gives its defaults, reading, writing and key list.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lola/core/config.h"
#include "lola/core/error.h"
#include "lola/core/options.h"

namespace lola::core {
namespace {

struct Inner {
    double rate = 0.5;
    std::vector<int64_t> sizes{1, 2};
};

/// A struct described the way the library's options structs are.
struct Example {
    std::string name = "base";
    int64_t count = 3;
    double beta = 0.9;
    bool flag = false;
    std::vector<double> betas{0.9, 0.99};
    std::vector<std::string> words{"a"};
    Inner inner;
    int validated = 0; // not a key

    struct InnerKeys {
        template <class Self, class Visitor>
        void operator()(Self& o, Visitor& v) const {
            v("rate", o.inner.rate, "a rate");
            v("sizes", o.inner.sizes, "sizes");
        }
    };
    template <class Self, class Visitor>
    static void describe(Self& o, Visitor& v) {
        v("name", o.name, "the name");
        v("count", o.count, "how many");
        v("beta", o.beta, "a float");
        v("flag", o.flag, "a switch");
        v("betas", o.betas, "floats");
        v("words", o.words, "names");
        v.group("inner", o, InnerKeys{}, "a sub-group");
    }
    void validate(const std::string& key) {
        LOLA_CHECK_USAGE(count >= 0, "{}.count = {} must be >= 0", key, count);
        ++validated;
    }
};

TEST(Options, FloatsAreWrittenAsTheShortestTextThatReadsBack) {
    EXPECT_EQ(float_text(0.9), "0.9");
    EXPECT_EQ(float_text(1.0), "1.0");
    EXPECT_EQ(float_text(1e-5), "1.0e-05");
    EXPECT_EQ(float_text(1e3), "1000.0");
    EXPECT_EQ(float_text(1e16), "1.0e+16");
    EXPECT_EQ(float_text(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(float_text(-2.5e-7), "-2.5e-07");
    EXPECT_EQ(float_text(std::numeric_limits<double>::infinity()), ".inf");
    for (const double v : {0.9, 0.66, 1e-3, 3e-5, 0.05, 123456.789, 5e-324, 1.7976931348623157e308}) {
        EXPECT_EQ(YAML::Load(float_text(v)).as<double>(), v) << float_text(v); // reads back exactly
    }
    // the written config holds 0.9, not yaml-cpp's 0.90000000000000002
    EXPECT_EQ(Config::dump(options_to_yaml(Example{})["beta"]), "0.9");
}

TEST(Options, DefaultsReadWriteAndKeysComeFromOneDescription) {
    const YAML::Node d = options_defaults<Example>();
    std::vector<std::string> keys;
    for (const auto& kv : d) {
        keys.push_back(kv.first.as<std::string>());
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"name", "count", "beta", "flag", "betas", "words", "inner"}));
    EXPECT_EQ(Config::dump(d["betas"]), "[0.9, 0.99]");
    EXPECT_EQ(Config::dump(d["inner"]["sizes"]), "[1, 2]");

    // absent keys keep their defaults; validate runs once
    const Example e = read_options<Example>(YAML::Load("{count: 7, inner: {rate: 0.25}, betas: [0.5, 0.75]}"), "ex");
    EXPECT_EQ(e.count, 7);
    EXPECT_EQ(e.name, "base");
    EXPECT_EQ(e.inner.rate, 0.25);
    EXPECT_EQ(e.inner.sizes, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(e.betas, (std::vector<double>{0.5, 0.75}));
    EXPECT_EQ(e.validated, 1);
    // writing then reading gives the same options
    const Example back = read_options<Example>(options_to_yaml(e), "ex");
    EXPECT_EQ(Config::dump(options_to_yaml(back)), Config::dump(options_to_yaml(e)));

    const std::vector<KeyDoc> list = options_keys<Example>();
    ASSERT_EQ(list.size(), 8U);
    EXPECT_EQ(list[6].key, "inner.rate");
    EXPECT_EQ(list[6].value, "0.5");
    EXPECT_EQ(list[6].doc, "a rate");
}

TEST(Options, BadKeysAndValuesNameTheKey) {
    auto message = [](const std::string& yaml) {
        try {
            read_options<Example>(YAML::Load(yaml), "ex");
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(message("{cout: 1}").find("unknown config key 'ex.cout'; did you mean 'count'?"), std::string::npos);
    EXPECT_NE(message("{inner: {rat: 1}}").find("'ex.inner.rat'; did you mean 'rate'?"), std::string::npos);
    EXPECT_NE(message("{count: many}").find("'ex.count' has value 'many', which is not an integer"), std::string::npos);
    EXPECT_NE(message("{beta: .nan}").find("'ex.beta'"), std::string::npos);
    EXPECT_NE(message("{betas: [0.5, .inf]}").find("'ex.betas[1]'"), std::string::npos);
    EXPECT_NE(message("{name: [a, b]}").find("'ex.name'"), std::string::npos);
    EXPECT_NE(message("{count: -1}").find("ex.count = -1 must be >= 0"), std::string::npos);
    EXPECT_NE(message("[1, 2]").find("'ex' must be a mapping"), std::string::npos);
    EXPECT_EQ(message("{count: ~}"), "(no error)"); // null keeps the default
}

} // namespace
} // namespace lola::core
