#include "analysis/beat_grid.h"

#include <algorithm>
#include <cmath>

namespace dju {

void BeatGridFit::add_beat(double t) {
  times_[head_] = t;
  head_ = (head_ + 1) % kCapacity;
  if (count_ < kCapacity) ++count_;
  refit();
}

void BeatGridFit::refit() {
  if (count_ < 6) return;
  std::array<double, kCapacity> t{};
  const size_t start = (head_ + kCapacity - count_) % kCapacity;
  for (size_t i = 0; i < count_; ++i) t[i] = times_[(start + i) % kCapacity];

  // Median inter-beat interval: robust first guess of the period.
  std::array<double, kCapacity> d{};
  for (size_t i = 1; i < count_; ++i) d[i - 1] = t[i] - t[i - 1];
  const size_t nd = count_ - 1;
  std::nth_element(d.begin(), d.begin() + nd / 2, d.begin() + nd);
  double period = d[nd / 2];
  if (!(period > 0.2 && period < 2.0)) return;  // 30..300 BPM

  // Fit t = a + n * period with n = rounded grid index; twice, dropping outliers the second time.
  double a = t[count_ - 1];
  for (int pass = 0; pass < 3; ++pass) {
    double sn = 0, st = 0, snn = 0, snt = 0;
    int used = 0;
    for (size_t i = 0; i < count_; ++i) {
      const double n = std::round((t[i] - t[count_ - 1]) / period);
      if (pass > 0) {
        const double resid = t[i] - (a + n * period);
        if (std::fabs(resid) > 0.08 * period) continue;
      }
      sn += n; st += t[i]; snn += n * n; snt += n * t[i];
      ++used;
    }
    const double den = used * snn - sn * sn;
    if (used < 6 || den <= 0) return;
    period = (used * snt - sn * st) / den;
    a = (st - period * sn) / used;
  }
  if (period > 0.2 && period < 2.0) bpm_ = 60.0 / period;
}

}  // namespace dju
