#include "client/slotctl/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace slotcache::slotctl {
namespace {

constexpr int kBarWidth = 10;

// Remaining / rate, where rate is `advanced` per `elapsed`.
std::optional<absl::Duration> Extrapolate(uint64_t advanced, uint64_t left,
                                          absl::Duration elapsed) {
  if (advanced == 0 || elapsed <= absl::ZeroDuration()) return std::nullopt;
  return elapsed * (static_cast<double>(left) / static_cast<double>(advanced));
}

std::string FormatSeconds(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

}  // namespace

void ProgressRate::Observe(const v1::MigrationProgress& progress,
                           absl::Time now) {
  if (!started_) {
    started_ = true;
    first_ = progress;
    first_time_ = now;
  }
  last_ = progress;
  last_time_ = now;
}

std::optional<absl::Duration> ProgressRate::Eta() const {
  if (!started_) return std::nullopt;
  const absl::Duration elapsed = last_time_ - first_time_;
  if (last_.slots_total() > 0 && last_.slots_done() >= last_.slots_total()) {
    return absl::ZeroDuration();
  }
  if (last_.slots_done() > first_.slots_done()) {
    return Extrapolate(last_.slots_done() - first_.slots_done(),
                       last_.slots_total() - last_.slots_done(), elapsed);
  }
  if (last_.keys_copied() > first_.keys_copied() &&
      last_.keys_total() > last_.keys_copied()) {
    return Extrapolate(last_.keys_copied() - first_.keys_copied(),
                       last_.keys_total() - last_.keys_copied(), elapsed);
  }
  return std::nullopt;
}

bool MovesSlots(const v1::Operation& op) {
  return op.moves_size() > 0 || op.migration().slots_total() > 0;
}

std::string FormatCount(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatMegabytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / 1e6);
}

std::string FormatEta(std::optional<absl::Duration> eta) {
  if (!eta.has_value()) return "-";
  const int64_t s = std::max<int64_t>(
      0, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(*eta))));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

std::string ProgressBar(uint64_t done, uint64_t total, int width) {
  int filled = 0;
  if (total > 0) {
    filled = static_cast<int>(std::min(done, total) * width / total);
  }
  return absl::StrCat("[", std::string(filled, '#'),
                      std::string(width - filled, '.'), "]");
}

std::string FormatProgressLine(const v1::Operation& op,
                               std::optional<absl::Duration> eta,
                               absl::Duration elapsed) {
  if (!MovesSlots(op)) {
    return absl::StrCat(op.id(), " ", op.kind(), "  ", FormatSeconds(elapsed),
                        "  ", op.progress().empty() ? "..." : op.progress());
  }
  const v1::MigrationProgress& m = op.migration();
  std::string line = absl::StrCat(
      ProgressBar(m.slots_done(), m.slots_total(), kBarWidth), " ",
      m.slots_done(), "/", m.slots_total(), " slots  ",
      FormatCount(m.keys_copied()), "/", FormatCount(m.keys_total()), " keys  ",
      FormatMegabytes(m.bytes_copied()), "  ETA ", FormatEta(eta));
  if (op.moves_size() > 1) {
    absl::StrAppend(&line, "  move ",
                    std::min<int>(m.current_move() + 1, op.moves_size()), "/",
                    op.moves_size());
  }
  absl::StrAppend(&line, "  step: ", m.step().empty() ? "starting" : m.step());
  if (op.cancel_requested()) absl::StrAppend(&line, " (cancel requested)");
  return line;
}

std::string FormatSummary(const v1::Operation& op) {
  std::string line = absl::StrCat(op.id(), " ", op.kind(), " ",
                                  v1::Operation::State_Name(op.state()));
  if (op.finished_unix_ms() >= op.created_unix_ms() &&
      op.finished_unix_ms() > 0) {
    absl::StrAppend(&line, " in ",
                    FormatSeconds(absl::Milliseconds(op.finished_unix_ms() -
                                                     op.created_unix_ms())));
  }
  if (MovesSlots(op)) {
    const v1::MigrationProgress& m = op.migration();
    absl::StrAppend(&line, ": ", m.slots_done(), "/", m.slots_total(),
                    " slots, ", FormatCount(m.keys_copied()), " keys, ",
                    FormatMegabytes(m.bytes_copied()),
                    " copied, max write pause ", m.max_pause_ms(), " ms");
  } else if (!op.progress().empty()) {
    absl::StrAppend(&line, ": ", op.progress());
  }
  if (!op.message().empty()) absl::StrAppend(&line, "\n  ", op.message());
  return line;
}

}  // namespace slotcache::slotctl
