// Training losses.
#pragma once

#include <tandem/losses/clip.hpp>
