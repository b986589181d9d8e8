// Helpers for collectors that build their metric families at scrape time
// (a prometheus::Collectable whose Collect reads a component's counters and
// state), so that each collector stays a readable list of
// name / help / value lines.
//
// A family is appended to the caller's vector and returned by reference;
// add its samples before appending the next family (the reference does not
// survive a reallocation).
//
// Thread-safety: plain functions on the caller's vector.
#ifndef SLOTCACHE_COMMON_METRICS_FAMILIES_H_
#define SLOTCACHE_COMMON_METRICS_FAMILIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"

namespace slotcache::metrics {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// Appends an empty family of `type`.
prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>* out,
                                    std::string name, std::string help,
                                    prometheus::MetricType type);

// Appends one sample to a counter or gauge family.
void AddSample(prometheus::MetricFamily& family, double value,
               Labels labels = {});

// Shorthands for a family with one unlabelled sample.
void AddGauge(std::vector<prometheus::MetricFamily>* out, std::string name,
              std::string help, double value);
void AddCounter(std::vector<prometheus::MetricFamily>* out, std::string name,
                std::string help, double value);

// Appends one histogram sample set: `counts[i]` observations fell into
// bucket i, that is at most `upper_bounds[i]` (and above the previous
// bound); `counts` has one more entry than `upper_bounds`, for +Inf.
void AddHistogram(prometheus::MetricFamily& family,
                  absl::Span<const double> upper_bounds,
                  absl::Span<const uint64_t> counts, double sum,
                  Labels labels = {});

}  // namespace slotcache::metrics

#endif  // SLOTCACHE_COMMON_METRICS_FAMILIES_H_
