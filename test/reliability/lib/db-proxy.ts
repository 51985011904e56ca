import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that the harness controls: a fixed one-way latency (a
 * database across a network, as hosted Supabase is), and network partitions. During a
 * partition nothing is forwarded and nothing is refused: bytes are held and new connections
 * hang, as when packets are silently dropped. On heal the held bytes are either delivered
 * (`flush`: the network came back and TCP retransmitted) or the connections that existed
 * before stay silent forever (`zombie`: half-open connections whose peer is gone, e.g. after a
 * fail-over or a NAT timeout; only new connections work).
 */
interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Bytes held during a partition, per direction, in order. */
  held: Array<{ toUpstream: boolean; chunk: Buffer }>;
  zombie: boolean;
  closed: boolean;
}

export class DbProxy {
  private readonly pairs = new Set<Pair>();
  private partitioned = false;
  latencyMs: number;
  connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly upstreamPort: number,
    latencyMs: number,
  ) {
    this.latencyMs = latencyMs;
  }

  static async start(upstreamPort: number, opts: { latencyMs?: number } = {}): Promise<DbProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    const proxy = new DbProxy(server, typeof addr === 'object' && addr ? addr.port : 0, upstreamPort, opts.latencyMs ?? 0);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get open(): number {
    return [...this.pairs].filter((p) => !p.closed).length;
  }

  private accept(client: net.Socket): void {
    this.connections++;
    const pair: Pair = { client, upstream: undefined, held: [], zombie: false, closed: false };
    this.pairs.add(pair);
    client.setNoDelay(true);
    client.on('data', (chunk) => this.forward(pair, true, chunk));
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    if (!this.partitioned) this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const up = net.connect(this.upstreamPort, '127.0.0.1');
    up.setNoDelay(true);
    pair.upstream = up;
    up.on('data', (chunk) => this.forward(pair, false, chunk));
    up.on('error', () => this.drop(pair));
    up.on('close', () => this.drop(pair));
  }

  private forward(pair: Pair, toUpstream: boolean, chunk: Buffer): void {
    if (pair.zombie || pair.closed) return;
    if (this.partitioned || !pair.upstream) {
      pair.held.push({ toUpstream, chunk });
      return;
    }
    const write = () => {
      if (pair.zombie || pair.closed) return;
      (toUpstream ? pair.upstream : pair.client)?.write(chunk);
    };
    // Timers with equal delays fire in order: the byte stream stays ordered.
    if (this.latencyMs > 0) setTimeout(write, this.latencyMs);
    else write();
  }

  private drop(pair: Pair): void {
    if (pair.closed) return;
    pair.closed = true;
    pair.client.destroy();
    pair.upstream?.destroy();
    this.pairs.delete(pair);
  }

  /** From now on nothing passes in either direction; new connections hang. */
  partition(): void {
    this.partitioned = true;
  }

  /**
   * flush: held bytes are delivered and connections carry on; zombie: connections that existed
   * before the heal stay open and silent forever (their held bytes are dropped).
   */
  heal(mode: 'flush' | 'zombie'): { held: number; zombies: number } {
    this.partitioned = false;
    let held = 0;
    let zombies = 0;
    for (const pair of this.pairs) {
      held += pair.held.length;
      if (mode === 'zombie' && pair.upstream) {
        pair.zombie = true;
        pair.held = [];
        zombies++;
        continue;
      }
      if (!pair.upstream) this.connectUpstream(pair);
      const queued = pair.held;
      pair.held = [];
      for (const h of queued) this.forward(pair, h.toUpstream, h.chunk);
    }
    return { held, zombies };
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
