// ioredis (a widely used Node.js Redis Cluster client) against a slotcache
// cluster: discovers the topology from one seed with CLUSTER SLOTS, writes
// and reads keys of every shard, a hash, a pipeline and a WRONGTYPE error,
// reading from primaries and replicas (scaleReads: 'all').
//
// Usage: node cluster_smoke.js HOST:PORT   (prints "ok" and exits 0)
'use strict';
const Redis = require('ioredis');

async function main() {
  const [host, port] = process.argv[2].split(':');
  const cluster = new Redis.Cluster([{ host, port: Number(port) }], {
    scaleReads: 'all',
    redisOptions: { connectTimeout: 5000 },
    clusterRetryStrategy: () => null,
  });
  const fail = (msg) => { throw new Error(msg); };
  // scaleReads 'all' may send a read to a replica, which serves it (ioredis
  // sends READONLY) once replication caught up: reads poll briefly.
  const eventually = async (read, ok) => {
    let v;
    for (let tries = 0; tries < 50; tries++) {
      v = await read();
      if (ok(v)) return v;
      await new Promise((res) => setTimeout(res, 100));
    }
    return v;
  };
  for (let i = 0; i < 100; i++) {
    const r = await cluster.set(`io:${i}`, `v${i}`);
    if (r !== 'OK') fail(`SET io:${i} -> ${r}`);
  }
  for (let i = 0; i < 100; i++) {
    const v = await eventually(() => cluster.get(`io:${i}`), (x) => x === `v${i}`);
    if (v !== `v${i}`) fail(`GET io:${i} -> ${v}`);
  }
  await cluster.hset('{io}h', 'a', '1', 'b', '2');
  const h = await eventually(() => cluster.hgetall('{io}h'), (x) => x.a === '1');
  if (h.a !== '1' || h.b !== '2') fail(`HGETALL -> ${JSON.stringify(h)}`);
  // A pipeline of writes goes to the primary, in order.
  const res = await cluster.pipeline().incr('{io}n').incr('{io}n').exec();
  if (res[1][1] !== 2) fail(`pipeline -> ${JSON.stringify(res)}`);
  const wrongType = await eventually(
      () => cluster.get('{io}h').then(() => '', (e) => e.message),
      (m) => m.startsWith('WRONGTYPE'));
  if (!wrongType.startsWith('WRONGTYPE')) fail(`GET hash -> ${wrongType}`);
  const nodes = cluster.nodes('master').length;
  if (nodes !== 3) fail(`ioredis sees ${nodes} masters`);
  await cluster.quit();
  console.log('ok');
}

main().catch((e) => { console.error(`ioredis smoke: ${e.stack || e}`); process.exit(1); });
