// Shapes as messages print them: "(2, 3, 64, 64)".
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <type_traits>
#include <utility>

namespace lola::core {

namespace detail {
template <class T, class = void>
struct HasSizes : std::false_type {};
template <class T>
struct HasSizes<T, std::void_t<decltype(std::declval<const T&>().sizes())>> : std::true_type {};
} // namespace detail

/// "(2, 3, 4)" for a range of sizes (a tensor's sizes(), a std::vector<int64_t>), and for anything with defined() and
/// sizes() (a torch::Tensor) the shape of its sizes, or "an undefined tensor". A template, so that core does not
/// depend on LibTorch.
template <class T>
std::string shape_str(const T& x) {
    if constexpr (detail::HasSizes<T>::value) {
        return x.defined() ? shape_str(x.sizes()) : std::string("an undefined tensor");
    } else {
        return fmt::format("({})", fmt::join(x, ", "));
    }
}

} // namespace lola::core
