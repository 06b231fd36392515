#include "common/units.h"

namespace dju {

float gain_to_db(float gain) {
  if (!(gain > 1e-6f)) return kSilenceDb;
  return 20.0f * std::log10(gain);
}

float power_to_db(float power) {
  if (!(power > 1e-12f)) return kSilenceDb;
  return 10.0f * std::log10(power);
}

}  // namespace dju
