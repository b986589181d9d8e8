// slotcache-coordinator: the control plane (members, slot map, epochs,
// failover). Flags, wiring, run.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/metrics/metrics_server.h"
#include "common/process.h"
#include "common/server_main.h"
#include "coordinator/backup_manager.h"
#include "coordinator/backup_store.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/node_admin.h"
#include "coordinator/rocksdb_state_store.h"
#include "coordinator/snapshot_client.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:6999",
          "HOST:PORT to serve on; port 0 picks a free port.");
ABSL_FLAG(std::string, address_file, "",
          "If set, write the bound HOST:PORT to this file once serving.");
ABSL_FLAG(std::string, data_dir, "./coordinator-data",
          "Folder for the coordinator's durable state (RocksDB); created if "
          "missing. Keep it across restarts.");
// Defaults and their trade-off: docs/FAILOVER.md.
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT for the Prometheus /metrics endpoint; port 0 picks a "
          "free port; empty: no metrics.");
ABSL_FLAG(std::string, metrics_address_file, "",
          "If set, write the bound metrics HOST:PORT to this file.");
ABSL_FLAG(absl::Duration, heartbeat_interval, absl::Milliseconds(100),
          "How often nodes heartbeat.");
ABSL_FLAG(absl::Duration, node_timeout, absl::Milliseconds(500),
          "A node that has not heartbeated for this long is marked FAILED "
          "(a failed primary is failed over).");
ABSL_FLAG(absl::Duration, primary_lease, absl::Milliseconds(500),
          "Write lease a healthy primary gets with each heartbeat reply.");
ABSL_FLAG(absl::Duration, lease_drift_margin, absl::Milliseconds(100),
          "Waited beyond a replaced primary's last lease before promoting a "
          "replica (clock drift, writes in flight at the lease's end).");
ABSL_FLAG(absl::Duration, manual_failover_timeout, absl::Seconds(5),
          "A manual failover whose target has not caught up within this is "
          "rolled back.");
ABSL_FLAG(absl::Duration, startup_grace, absl::Seconds(3),
          "After a start, nodes get this long to reconnect before failure "
          "detection begins.");
ABSL_FLAG(absl::Duration, migration_pause, absl::Seconds(2),
          "Slot migration: how long the source pauses writes to the moving "
          "slots at the cut-over; must exceed --primary_lease + "
          "--lease_drift_margin (docs/RESHARDING.md).");
ABSL_FLAG(absl::Duration, migration_catch_up_timeout, absl::Minutes(10),
          "Slot migration: a move whose target has not caught up with the "
          "source within this is rolled back.");
ABSL_FLAG(absl::Duration, migration_rpc_timeout, absl::Seconds(30),
          "Deadline of the admin calls of a slot migration (AbortImport "
          "deletes a slot range's keys, which can take a while).");

ABSL_FLAG(std::string, backup_location, "",
          "Where cluster backups go: file:///ABSOLUTE/PATH, on the nodes' "
          "filesystem too (they write their shard snapshots there). Empty: "
          "file://<data_dir>/backups.");
ABSL_FLAG(absl::Duration, backup_interval, absl::ZeroDuration(),
          "Take a scheduled backup this often (0: never).");
ABSL_FLAG(int, backup_retention, 0,
          "Keep the newest this many scheduled backups, deleting older "
          "scheduled ones (manual backups are kept); 0 keeps all.");
ABSL_FLAG(absl::Duration, backup_rpc_timeout, absl::Minutes(30),
          "Deadline of a node's CreateSnapshot and LoadSnapshots (a whole "
          "shard is written or read).");

int main(int argc, char** argv) {
  slotcache::BlockShutdownSignals();
  slotcache::ParseFlags(
      argc, argv,
      "slotcache-coordinator: the slotcache control plane.\n\n"
      "Usage: slotcache-coordinator --listen=HOST:PORT --data_dir=DIR "
      "[flags]");
  namespace sc = slotcache::coordinator;
  sc::CoordinatorOptions coordinator_options;
  coordinator_options.heartbeat_interval =
      absl::GetFlag(FLAGS_heartbeat_interval);
  coordinator_options.node_timeout = absl::GetFlag(FLAGS_node_timeout);
  coordinator_options.primary_lease = absl::GetFlag(FLAGS_primary_lease);
  coordinator_options.startup_grace = absl::GetFlag(FLAGS_startup_grace);
  coordinator_options.lease_drift_margin =
      absl::GetFlag(FLAGS_lease_drift_margin);
  coordinator_options.manual_failover_timeout =
      absl::GetFlag(FLAGS_manual_failover_timeout);
  // Admin calls to nodes (manual failover) get the node timeout as their
  // deadline: a node slower than that is treated as failed anyway.
  std::unique_ptr<sc::NodeAdmin> node_admin =
      sc::NewGrpcNodeAdmin(coordinator_options.node_timeout);
  coordinator_options.node_admin = node_admin.get();
  std::unique_ptr<sc::NodeAdmin> migration_admin =
      sc::NewGrpcNodeAdmin(absl::GetFlag(FLAGS_migration_rpc_timeout));
  coordinator_options.migration_admin = migration_admin.get();
  coordinator_options.migration_pause = absl::GetFlag(FLAGS_migration_pause);
  coordinator_options.migration_catch_up_timeout =
      absl::GetFlag(FLAGS_migration_catch_up_timeout);
  if (coordinator_options.heartbeat_interval <= absl::ZeroDuration() ||
      coordinator_options.node_timeout <=
          coordinator_options.heartbeat_interval) {
    SC_LOG(ERROR,
           "slotcache-coordinator: --node_timeout (%s) must be longer than "
           "--heartbeat_interval (%s), which must be positive",
           absl::FormatDuration(coordinator_options.node_timeout),
           absl::FormatDuration(coordinator_options.heartbeat_interval));
    return 2;
  }

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<std::unique_ptr<sc::StateStore>> store =
      sc::OpenRocksDbStateStore(data_dir);
  if (!store.ok()) {
    SC_LOG(ERROR, "slotcache-coordinator: %s", store.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<sc::Coordinator>> coordinator =
      sc::Coordinator::Create(std::move(*store), coordinator_options);
  if (!coordinator.ok()) {
    SC_LOG(ERROR, "slotcache-coordinator: %s", coordinator.status().ToString());
    return 1;
  }
  std::string backup_location = absl::GetFlag(FLAGS_backup_location);
  if (backup_location.empty()) {
    std::error_code error;
    const std::filesystem::path absolute =
        std::filesystem::absolute(data_dir, error);
    backup_location = absl::StrCat(
        "file://", absolute.lexically_normal().string(), "/backups");
  }
  absl::StatusOr<std::unique_ptr<sc::BackupStore>> backup_store =
      sc::OpenBackupStore(backup_location);
  if (!backup_store.ok()) {
    SC_LOG(ERROR, "slotcache-coordinator: %s",
           backup_store.status().ToString());
    return 2;
  }
  if (absl::GetFlag(FLAGS_backup_retention) < 0) {
    SC_LOG(ERROR, "slotcache-coordinator: --backup_retention must be >= 0");
    return 2;
  }
  const absl::Duration backup_rpc_timeout =
      absl::GetFlag(FLAGS_backup_rpc_timeout);
  std::unique_ptr<sc::SnapshotClient> snapshot_client =
      sc::NewGrpcSnapshotClient(backup_rpc_timeout, backup_rpc_timeout);
  sc::BackupOptions backup_options;
  backup_options.coordinator = coordinator->get();
  backup_options.store = backup_store->get();
  backup_options.snapshots = snapshot_client.get();
  backup_options.node_admin = node_admin.get();
  backup_options.interval = absl::GetFlag(FLAGS_backup_interval);
  backup_options.retention = absl::GetFlag(FLAGS_backup_retention);
  sc::BackupManager backups(backup_options);
  SC_LOG(INFO, "backups go to %s", backup_location);
  sc::CoordinatorServiceImpl service(coordinator->get(), &backups);

  slotcache::ServeOptions options;
  options.name = "slotcache-coordinator";
  options.rpc.listen_address = absl::GetFlag(FLAGS_listen);
  options.address_file = absl::GetFlag(FLAGS_address_file);
  std::unique_ptr<slotcache::MetricsServer> metrics;
  absl::Status status = slotcache::ServeUntilSignal(
      options, {&service},
      [&](const std::string&) {
        (*coordinator)->StartFailureDetection();
        backups.StartScheduler();
        const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
        if (metrics_listen.empty()) return absl::OkStatus();
        absl::StatusOr<std::unique_ptr<slotcache::MetricsServer>> server =
            slotcache::MetricsServer::Start(
                metrics_listen, absl::GetFlag(FLAGS_metrics_address_file));
        if (!server.ok()) return server.status();
        metrics = std::move(*server);
        metrics->Add(
            std::make_shared<sc::CoordinatorCollector>(coordinator->get()));
        SC_LOG(INFO, "metrics on http://%s/metrics", metrics->address());
        return absl::OkStatus();
      },
      [&] {
        metrics.reset();
        service.Shutdown();
        backups.Shutdown();
        (*coordinator)->Shutdown();
      });
  if (!status.ok()) {
    SC_LOG(ERROR, "slotcache-coordinator: %s", status.ToString());
    return 1;
  }
  return 0;
}
