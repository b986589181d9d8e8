// An application on ioredis' Cluster client writing through a primary
// kill (tests/resp_failover_test.cc drives it). Workers loop over their own
// keys (counters with INCR, strings with SET of a sequence number), each
// write sent as the Redis idiom for a replica-acknowledged write: a
// pipeline of the write and `WAIT 1 <ms>` (one round trip to the key's
// primary); only a write WAIT found on a replica counts as durable (one
// the primary alone acknowledged may roll back with it, as in Redis:
// counted as unreplicated_rollbacks). ioredis retries a pipeline by itself only when all its
// commands failed alike, so a MOVED answered by a node the client tried
// while its map was stale (WAIT succeeds there) reaches the application:
// such errors are counted and printed with their time after the kill. Reads (GET) check that the last acknowledged value is there.
// The client is configured as a user of a Redis Cluster would: it retries
// connection errors and CLUSTERDOWN after refreshing its slots, follows
// MOVED, and reconnects with a backoff; nothing in here knows about the
// failover.
//
// Protocol with the test, through files in DIR:
//   stdout "warm"       every key was acknowledged twice: kill now.
//   DIR/killed          "<unix ms> <host:port>": when and which primary was
//                       killed (its keys are the "victim" keys).
//   DIR/stop            the cluster is whole again: stop, verify, report.
// (then every key is written twice more) Then it reads every key back (GET through the client) and prints
// `name=value` lines and "verdict=ok" or "verdict=FAIL ...".
//
// Usage: node failover_loop.js HOST:PORT DIR
'use strict';
const fs = require('fs');
const Redis = require('ioredis');
const calculateSlot = require('cluster-key-slot');

const WORKERS = 8;
const KEYS_PER_WORKER = 30;
const WAIT_MS = 200;

const [seedHost, seedPort] = process.argv[2].split(':');
const dir = process.argv[3];
const cluster = new Redis.Cluster([{ host: seedHost, port: Number(seedPort) }], {
  // Reconnect with a backoff when every node is unreachable.
  clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
  // A closed connection or CLUSTERDOWN: refresh the slots, retry.
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  // Each retry above counts as a redirection: 100 of them ride through
  // ~10 s of outage.
  maxRedirections: 100,
  slotsRefreshTimeout: 2000,
  redisOptions: { connectTimeout: 2000 },
});
let nodeErrors = 0;
cluster.on('node error', () => { nodeErrors++; });
cluster.on('error', () => {});

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const now = () => Date.now();

// Per key: what the application knows.
function newKey(name, counter) {
  return {
    name, counter,
    acked: null,          // last acknowledged value (string)
    ackedReplicated: true, // WAIT said a replica has it
    lastReplicated: null, // last value acknowledged with WAIT >= 1
    attempted: 0,         // SET: last sequence number sent
    uncertain: 0,         // writes with no answer since the last ack
    acks: 0,
  };
}
const workers = [];
for (let w = 0; w < WORKERS; w++) {
  const keys = [];
  for (let i = 0; i < KEYS_PER_WORKER; i++) {
    const counter = i % 2 === 0;
    keys.push(newKey(`fo:${counter ? 'c' : 's'}:${w}:${i}`, counter));
  }
  workers.push({ keys, lastSuccess: 0, longestGap: 0, gapEnd: 0 });
}

let killAt = 0;          // unix ms of the kill, once known
let victimNode = '';     // host:port of the killed primary
let victims = new Set(); // key names owned by it
let victimsPending = new Set(); // victim keys not yet written after it
let firstVictimSuccessAt = 0;
// Recovered: every victim key succeeded at least once after the kill.
let recoveredAt = 0;
let stopping = false;
let stopAcks = null;     // per key, its acks when the stop file appeared
const errors = [];       // { at (unix ms), w, key, msg }
let waitZero = 0;        // acknowledged writes WAIT found on no replica
let incrJumps = 0;       // INCR replies > last ack + 1 (a retried INCR)
let readMismatches = [];
const rollbacks = [];     // unreplicated acks undone by the failover
const waitZeroSamples = [];
// "<ms after the kill>ms" (negative: before it) for the diagnostics.
const at = () => `${killAt ? now() - killAt : 'pre-kill'}ms`;
// The node the client routes `key`'s slot to now.
const routeOf = (key) => (cluster.slots[calculateSlot(key.name)] || ['?'])[0];
let ops = 0;

function recordError(w, key, msg) {
  errors.push({ at: now(), w, key: key.name, msg });
  key.uncertain++;
}

function success(worker, key) {
  const t = now();
  ops++;
  if (worker.lastSuccess && t - worker.lastSuccess > worker.longestGap &&
      killAt && t > killAt) {
    worker.longestGap = t - worker.lastSuccess;
    worker.gapEnd = t - killAt;
  }
  worker.lastSuccess = t;
  if (killAt && !recoveredAt && victimsPending.delete(key.name)) {
    if (!firstVictimSuccessAt) firstVictimSuccessAt = t;
    if (victimsPending.size === 0) recoveredAt = t;
  }
}

async function writeOnce(w, key) {
  const worker = workers[w];
  let value;
  let p = cluster.pipeline();
  if (key.counter) {
    p = p.incr(key.name);
  } else {
    value = String(++key.attempted);
    p = p.set(key.name, value);
  }
  let res;
  try {
    res = await p.wait(1, WAIT_MS).exec();
  } catch (e) {
    recordError(w, key, `pipeline: ${e.message}`);
    return;
  }
  const [[writeErr, reply], [waitErr, replicas]] = res;
  if (writeErr) {
    recordError(w, key, `${key.counter ? 'INCR' : 'SET'}: ${writeErr.message}`);
    return;
  }
  if (key.counter) {
    if (key.acked !== null && reply > Number(key.acked) + 1) incrJumps++;
    if (key.acked !== null && reply <= Number(key.acked)) {
      if (rolledBack(key, reply - 1)) {
        rollbacks.push(`${key.name}: INCR -> ${reply} after unreplicated ack ${key.acked} at ${at()} via ${routeOf(key)}`);
      } else {
        readMismatches.push(`${key.name}: INCR -> ${reply} after ack ${key.acked} at ${at()} via ${routeOf(key)}`);
      }
    }
    value = String(reply);
  }
  key.acked = value;
  key.uncertain = 0;
  key.acks++;
  key.ackedReplicated = !waitErr && replicas >= 1;
  if (key.ackedReplicated) {
    key.lastReplicated = value;
  } else {
    waitZero++;
    waitZeroSamples.push(`${key.name}=${value} at ${at()} via ${routeOf(key)}`);
  }
  success(worker, key);
}

// A write acknowledged by the primary alone (WAIT -> 0) is not durable,
// as in Redis: if that primary dies, the key may read as any value from the
// last replica-acknowledged one up to it.
function rolledBack(key, v) {
  return !key.ackedReplicated && v >= Number(key.lastReplicated || 0) &&
         v <= Number(key.acked);
}

async function readOnce(w, key) {
  let got;
  try {
    got = await cluster.get(key.name);
  } catch (e) {
    recordError(w, key, `GET: ${e.message}`);
    key.uncertain--;  // a failed read leaves the value as it was
    return;
  }
  // Right after an unanswered write the value may be either.
  if (key.uncertain === 0 && got !== key.acked) {
    if (rolledBack(key, Number(got))) {
      rollbacks.push(`${key.name}: GET -> ${got} after unreplicated ack ${key.acked} at ${at()} via ${routeOf(key)}`);
    } else {
      readMismatches.push(`${key.name}: GET -> ${got}, acked ${key.acked} at ${at()} via ${routeOf(key)}`);
    }
  }
  success(workers[w], key);
}

async function worker(w) {
  const { keys } = workers[w];
  for (let round = 0; !stopping; round++) {
    for (const key of keys) {
      if (stopping) break;
      await writeOnce(w, key);
      if (round % 3 === 2) await readOnce(w, key);
    }
  }
}

function pollFiles() {
  if (!killAt && fs.existsSync(`${dir}/killed`)) {
    const [ms, node] = fs.readFileSync(`${dir}/killed`, 'utf8').trim().split(' ');
    killAt = Number(ms);
    victimNode = node;
    // The keys the client routed to the killed primary before the kill.
    for (const { keys } of workers) {
      for (const key of keys) {
        const owners = cluster.slots[calculateSlot(key.name)] || [];
        if (owners[0] === victimNode) {
          victims.add(key.name);
          victimsPending.add(key.name);
        }
      }
    }
  }
  // After the stop file every key is acknowledged twice more, so there is
  // traffic on the whole cluster after recovery, then the workers stop.
  if (!stopAcks && fs.existsSync(`${dir}/stop`)) {
    stopAcks = new Map();
    for (const { keys } of workers) {
      for (const key of keys) stopAcks.set(key, key.acks);
    }
  }
  if (stopAcks && !stopping) {
    stopping = [...stopAcks].every(([key, acks]) => key.acks >= acks + 2);
  }
}

async function main() {
  await new Promise((res, rej) => {
    cluster.once('ready', res);
    cluster.once('end', () => rej(new Error('cluster client ended')));
  });
  const timer = setInterval(pollFiles, 5);
  const running = workers.map((_, w) => worker(w));
  // Warm: every key acknowledged at least twice.
  while (!workers.every((wk) => wk.keys.every((k) => k.acks >= 2))) {
    await sleep(20);
  }
  console.log('warm');
  await Promise.all(running);
  clearInterval(timer);
  pollFiles();

  // Read every key back through the client.
  let lost = 0;
  let unreplicatedLost = 0;
  let verifyErrors = 0;
  const lostSamples = [];
  for (const { keys } of workers) {
    for (const key of keys) {
      let got;
      try {
        got = await cluster.get(key.name);
      } catch (e) {
        verifyErrors++;
        lostSamples.push(`${key.name}: GET failed: ${e.message}`);
        continue;
      }
      let ok;
      if (key.counter) {
        // Unanswered INCRs after the last ack may or may not have applied.
        ok = Number(got) >= Number(key.acked) &&
             Number(got) <= Number(key.acked) + key.uncertain;
      } else {
        ok = Number(got) >= Number(key.acked) && Number(got) <= key.attempted &&
             (Number(got) === Number(key.acked) || key.uncertain > 0);
      }
      if (!ok && rolledBack(key, Number(got))) {
        unreplicatedLost++;  // acked by the primary alone (WAIT -> 0)
      } else if (!ok) {
        lost++;
        lostSamples.push(`${key.name}: ${got}, acked ${key.acked}` +
                         ` (uncertain ${key.uncertain})`);
      }
    }
  }
  for (const e of errors) e.t = e.at - killAt;
  const beforeKill = errors.filter((e) => e.at < killAt);
  const afterRecovery = errors.filter((e) => recoveredAt && e.at > recoveredAt);
  const longest = workers.reduce((a, wk) => Math.max(a, wk.longestGap), 0);
  const out = [
    `ops=${ops}`,
    `keys=${WORKERS * KEYS_PER_WORKER}`,
    `victim_node=${victimNode}`,
    `victim_keys=${victims.size}`,
    `first_victim_success_ms=${firstVictimSuccessAt ? firstVictimSuccessAt - killAt : -1}`,
    `recovered_after_ms=${recoveredAt ? recoveredAt - killAt : -1}`,
    `longest_stall_ms=${longest}`,
    `errors_total=${errors.length}`,
    `errors_before_kill=${beforeKill.length}`,
    `errors_after_recovery=${afterRecovery.length}`,
    `node_error_events=${nodeErrors}`,
    `wait_zero_acks=${waitZero}`,
    `incr_retried_jumps=${incrJumps}`,
    `read_mismatches=${readMismatches.length}`,
    `unreplicated_rollbacks=${rollbacks.length}`,
    `verify_errors=${verifyErrors}`,
    `lost=${lost}`,
    `unreplicated_lost=${unreplicatedLost}`,
  ];
  // Errors the application saw, grouped by message, with their time window.
  const byMsg = new Map();
  for (const e of errors) {
    const g = byMsg.get(e.msg) || { n: 0, first: e.t, last: e.t };
    g.n++; g.last = e.t;
    byMsg.set(e.msg, g);
  }
  for (const [msg, g] of byMsg) {
    out.push(`error: ${g.n}x [${g.first}..${g.last}] ms after kill: ${msg}`);
  }
  for (const e of afterRecovery.slice(0, 10)) {
    out.push(`after_recovery: ${e.t} ms ${e.key}: ${e.msg}`);
  }
  for (const s of readMismatches.slice(0, 10)) out.push(`mismatch: ${s}`);
  for (const s of rollbacks.slice(0, 10)) out.push(`rollback: ${s}`);
  for (const s of waitZeroSamples.slice(0, 10)) out.push(`wait_zero: ${s}`);
  for (const s of lostSamples.slice(0, 10)) out.push(`lost: ${s}`);
  const fails = [];
  if (!killAt) fails.push('never saw the kill');
  if (!recoveredAt) fails.push('not every victim key succeeded after the kill');
  if (lost) fails.push(`${lost} acknowledged writes lost`);
  if (verifyErrors) fails.push(`${verifyErrors} reads failed after recovery`);
  if (afterRecovery.length) fails.push('errors after recovery');
  if (beforeKill.length) fails.push('errors before the kill');
  if (readMismatches.length) fails.push('reads missed acknowledged writes');
  out.push(fails.length ? `verdict=FAIL ${fails.join('; ')}` : 'verdict=ok');
  console.log(out.join('\n'));
  cluster.disconnect();
  process.exit(fails.length ? 1 : 0);
}

main().catch((e) => {
  console.error(`failover_loop: ${e.stack || e}`);
  process.exit(2);
});
