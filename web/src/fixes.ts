// What a person would try for each error code, in plain words (from
// docs/errors.md and the contract's table of codes).

export interface Fix {
  what: string;
  try: string;
}

export const fixes: Record<string, Fix> = {
  no_route: {
    what: 'No route matched the request’s host, path, method and headers.',
    try: 'Check the routes’ match rules. Paths match by whole segments: /orders matches /orders/1 but not /orders-old. Check the Host header against the route’s hosts.',
  },
  unauthorized: {
    what: 'The request had no credential, or one the gateway does not know.',
    try: 'Send the consumer’s key (or token, or password) the route’s auth plugin expects. Check that the credential was not revoked.',
  },
  forbidden: {
    what: 'An ACL or IP rule denied the request.',
    try: 'Check the route’s acl and ip-restriction plugins, and the consumer’s groups.',
  },
  payload_too_large: { what: 'The request body was over the limit.', try: 'Send a smaller body, or raise the request-size-limit plugin’s limit.' },
  rate_limited: {
    what: 'The caller went over a rate limit.',
    try: 'Wait for the time in Retry-After, or raise the rate-limit plugin’s limit for this route or consumer.',
  },
  bad_request: { what: 'The request was malformed.', try: 'Fix the client: its framing, headers or path were not valid HTTP.' },
  uri_too_long: { what: 'The request target was too long.', try: 'Shorten the URL, or raise server.max_url_bytes.' },
  request_header_too_large: { what: 'The request head was too large.', try: 'Send fewer or smaller headers, or raise server.max_header_bytes.' },
  not_implemented: { what: 'The request used something the gateway does not support.', try: 'Use chunked or plain bodies; check the route has an upstream.' },
  upstream_connect_failed: {
    what: 'The target refused the connection or could not be reached.',
    try: 'Is the service running and listening on that address and port? Try connecting to the target from the gateway’s machine. Fix or remove the target in the upstream.',
  },
  upstream_dns_failed: {
    what: 'The target’s host name does not resolve.',
    try: 'Check the spelling of the target URL’s host, and that DNS on the gateway’s machine resolves it.',
  },
  upstream_tls_failed: {
    what: 'The TLS handshake with the target failed.',
    try: 'Check the target’s certificate and the upstream’s tls settings (ca_file, server_name). Is the target really speaking TLS on that port?',
  },
  upstream_reset: {
    what: 'The target closed or reset the connection before a complete answer.',
    try: 'Look at the target’s own logs for crashes. If it closes idle connections, make its keep-alive timeout longer than the upstream’s keep_alive.idle_timeout.',
  },
  upstream_bad_response: {
    what: 'The target answered something that is not HTTP/1.x.',
    try: 'Check that the target URL points at an HTTP server: not HTTPS on an http:// URL, not gRPC, not a database port.',
  },
  no_healthy_upstream: {
    what: 'Every target was out: failed health checks or ejected after failures.',
    try: 'Open the upstream to see each target’s last error. Fix the targets or their health endpoints, or loosen the health_check settings.',
  },
  upstream_overloaded: {
    what: 'Every healthy target was at max_connections.',
    try: 'Add capacity (more targets), or raise max_connections on the upstream.',
  },
  upstream_connect_timeout: {
    what: 'Connecting to the target took longer than timeouts.connect.',
    try: 'Check the network path to the target: a firewall dropping packets, a wrong address. Raise timeouts.connect only if the network is known to be slow.',
  },
  upstream_timeout: {
    what: 'The target did not answer within timeouts.read.',
    try: 'Compare the target’s latency with the upstream’s timeouts. Make the target faster, or raise timeouts.read for this upstream.',
  },
  upstream_reset_after_head: {
    what: 'The target broke the connection in the middle of the body; the client got a truncated answer.',
    try: 'Look at the target’s logs for crashes while streaming.',
  },
  upstream_timeout_after_head: {
    what: 'The body stalled longer than timeouts.read; the client got a truncated answer.',
    try: 'Check why the target stops sending mid-body; raise timeouts.read for slow streams.',
  },
  client_closed: { what: 'The client went away before the answer was ready.', try: 'Usually the client’s own timeout: compare it with the request’s duration.' },
  internal_error: { what: 'The gateway failed internally.', try: 'Look at the gateway’s log for this request id and report it.' },
  store_unavailable: { what: 'The gateway’s database did not answer.', try: 'Check the storage settings and that the database is running.' },
  model_not_found: { what: 'The model name the client sent is not configured.', try: 'Use a name from the AI models list, or add the model.' },
  provider_error: { what: 'The AI provider refused the request.', try: 'Read the provider’s message in the error detail: often a bad parameter, a wrong key or a quota.' },
  all_providers_failed: {
    what: 'Every target and fallback of the model failed.',
    try: 'Check each provider’s keys and base URL; the detail lists each failure’s code.',
  },
};

export function fixFor(code: string, status: number): Fix | null {
  if (code && fixes[code]) return fixes[code];
  if (!code && status >= 500) {
    return { what: `The upstream itself answered ${status}.`, try: 'The gateway passed the upstream’s answer on: look at the upstream service’s own logs for this request id.' };
  }
  if (!code && status >= 400) {
    return { what: `The upstream answered ${status}.`, try: 'The upstream refused the request: check what the client sent.' };
  }
  return null;
}
