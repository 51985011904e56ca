import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { HttpServerLimits } from '../config/config';

/**
 * The HTTP server with its socket limits. Node's defaults let a client take 60 s to send its
 * headers and 5 minutes per request, so a few hundred slow connections could hold the worker's
 * sockets; here every limit is configured, and expired connections are swept at a quarter of the
 * headers limit, at most every second (Node checks every 30 s by default, which would stretch a
 * 10 s limit to 40 s).
 */
export async function listenWithLimits(
  app: RequestListener,
  port: number,
  limits: HttpServerLimits,
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    app,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.listen(port);
  await once(server, 'listening');
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
