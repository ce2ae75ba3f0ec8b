// Published colormap tables (src/figures/colormap_data.cpp), internal to lola::figures.
#pragma once

namespace lola::figures {

/// viridis: 256 sRGB entries (r, g, b in [0, 1]), entry i at t = i / 255.
extern const float kViridis[256][3];

} // namespace lola::figures
