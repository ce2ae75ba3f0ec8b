// Small networks for tests of the models built on lola::nn (header-only, like torch_support.h).
#pragma once

#include "lola/nn/backbone.h"

namespace lola::test {

/// A ViT backbone small enough for unit tests: 32 hidden channels, 2 blocks, 2 heads, no dropout.
inline nn::BackboneOptions tiny_vit() {
    nn::BackboneOptions o;
    o.name = "test_tiny";
    o.hid_channels = 32;
    o.hid_blocks = 2;
    o.attention_heads = 2;
    o.dropout = 0.0;
    return o;
}

} // namespace lola::test
