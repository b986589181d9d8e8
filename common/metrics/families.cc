#include "common/metrics/families.h"

#include <limits>
#include <utility>

namespace slotcache::metrics {

prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>* out,
                                    std::string name, std::string help,
                                    prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  out->push_back(std::move(family));
  return out->back();
}

void AddSample(prometheus::MetricFamily& family, double value, Labels labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else if (family.type == prometheus::MetricType::Gauge) {
    metric.gauge.value = value;
  } else {
    metric.untyped.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void AddGauge(std::vector<prometheus::MetricFamily>* out, std::string name,
              std::string help, double value) {
  AddSample(AddFamily(out, std::move(name), std::move(help),
                      prometheus::MetricType::Gauge),
            value);
}

void AddCounter(std::vector<prometheus::MetricFamily>* out, std::string name,
                std::string help, double value) {
  AddSample(AddFamily(out, std::move(name), std::move(help),
                      prometheus::MetricType::Counter),
            value);
}

void AddHistogram(prometheus::MetricFamily& family,
                  absl::Span<const double> upper_bounds,
                  absl::Span<const uint64_t> counts, double sum,
                  Labels labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound = i < upper_bounds.size()
                             ? upper_bounds[i]
                             : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
  family.metric.push_back(std::move(metric));
}

}  // namespace slotcache::metrics
