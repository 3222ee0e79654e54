// The kinds of config entity the console manages, and the form fields of
// each. Keys not listed as fields are edited as JSON in "Other settings".

export type FieldType = 'text' | 'number' | 'bool' | 'list' | 'select' | 'json' | 'targets' | 'modeltargets' | 'secretlist';

export interface FieldSpec {
  key: string; // dotted path in the entity: "match.paths"
  label: string;
  type: FieldType;
  help?: string;
  options?: string[];
  required?: boolean;
  placeholder?: string;
}

export interface Kind {
  path: string; // API collection and console path: "routes", "ai/providers"
  title: string;
  singular: string;
  fields: FieldSpec[];
  /** columns of the list: [label, value of an entity] */
  columns: [string, (e: any) => string][];
  template: Record<string, unknown>;
}

const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : '');

export const pluginNames = [
  'key-auth', 'jwt', 'basic-auth', 'acl', 'ip-restriction', 'cors', 'rate-limit', 'request-size-limit',
  'request-transform', 'response-transform', 'request-termination', 'ai-rate-limit', 'ai-budget', 'ai-prompt-guard',
];

export const kinds: Kind[] = [
  {
    path: 'routes', title: 'Routes', singular: 'route',
    fields: [
      { key: 'name', label: 'Name', type: 'text', required: true },
      { key: 'match.paths', label: 'Paths', type: 'list', placeholder: '/orders, =/exact, ~^/re$', help: 'One per line or comma-separated: a prefix (/orders), an exact path (=/x) or a regular expression (~^/x$).' },
      { key: 'match.hosts', label: 'Hosts', type: 'list', placeholder: 'api.example.com, *.example.org' },
      { key: 'match.methods', label: 'Methods', type: 'list', placeholder: 'GET, POST' },
      { key: 'match.headers', label: 'Headers to match', type: 'json', placeholder: '{"X-Api-Version": "2"}' },
      { key: 'upstream', label: 'Upstream', type: 'text', help: 'The name of an upstream.' },
      { key: 'strip_path', label: 'Strip the matched prefix', type: 'bool' },
      { key: 'preserve_host', label: 'Preserve the Host header', type: 'bool' },
      { key: 'plugins', label: 'Plugins', type: 'json', placeholder: '{"key-auth": {}, "rate-limit": {"limit": 100, "window": "1m"}}' },
    ],
    columns: [['Paths', (e) => list(e.match?.paths)], ['Hosts', (e) => list(e.match?.hosts)], ['Upstream', (e) => e.upstream || (e.ai ? 'AI' : '')]],
    template: { name: '', match: { paths: ['/'] }, upstream: '' },
  },
  {
    path: 'upstreams', title: 'Upstreams', singular: 'upstream',
    fields: [
      { key: 'name', label: 'Name', type: 'text', required: true },
      { key: 'targets', label: 'Targets', type: 'targets', help: 'One per line: URL and optional weight, like http://10.0.0.5:9001 100.' },
      { key: 'balancer', label: 'Balancer', type: 'select', options: ['round_robin', 'least_conn', 'hash', 'latency'] },
      { key: 'hash_on', label: 'Hash on', type: 'text', placeholder: 'header:X-User-Id', help: 'With the hash balancer: header:NAME, ip, consumer or path.' },
      { key: 'retries', label: 'Retries', type: 'number' },
      { key: 'timeouts.connect', label: 'Connect timeout', type: 'text', placeholder: '5s' },
      { key: 'timeouts.read', label: 'Read timeout', type: 'text', placeholder: '1m' },
      { key: 'max_connections', label: 'Max connections per target', type: 'number', help: '0 = unlimited.' },
      { key: 'health_check', label: 'Health checks', type: 'json', placeholder: '{"active": {"path": "/healthz", "interval": "2s"}}' },
    ],
    columns: [['Targets', (e) => (e.targets || []).map((t: any) => t.url).join(', ')], ['Balancer', (e) => e.balancer || '']],
    template: { name: '', targets: [] },
  },
  {
    path: 'consumers', title: 'Consumers', singular: 'consumer',
    fields: [
      { key: 'name', label: 'Name', type: 'text', required: true },
      { key: 'groups', label: 'Groups', type: 'list', placeholder: 'gold, internal' },
      { key: 'plugins', label: 'Plugins', type: 'json', placeholder: '{"rate-limit": {"limit": 10, "window": "1s"}}' },
    ],
    columns: [['Groups', (e) => list(e.groups)]],
    template: { name: '' },
  },
  {
    path: 'plugins', title: 'Global plugins', singular: 'global plugin',
    fields: [
      { key: 'name', label: 'Plugin', type: 'select', options: pluginNames, required: true },
      { key: 'config', label: 'Settings', type: 'json', placeholder: '{"origins": ["https://app.example.com"]}' },
    ],
    columns: [['Settings', (e) => JSON.stringify(e.config ?? {})]],
    template: { name: 'cors', config: {} },
  },
  {
    path: 'ai/providers', title: 'AI providers', singular: 'AI provider',
    fields: [
      { key: 'name', label: 'Name', type: 'text', required: true },
      { key: 'type', label: 'Type', type: 'select', options: ['openai', 'azure', 'anthropic', 'gemini', 'mistral', 'ollama', 'openai-compatible', 'bedrock'] },
      { key: 'base_url', label: 'Base URL', type: 'text', placeholder: 'https://api.example.com' },
      { key: 'api_keys', label: 'API keys', type: 'secretlist', help: 'One per line. Stored keys are shown masked; leave a masked key as it is to keep it.' },
      { key: 'api_version', label: 'API version', type: 'text' },
      { key: 'region', label: 'Region', type: 'text' },
      { key: 'headers', label: 'Extra headers', type: 'json' },
    ],
    columns: [['Type', (e) => e.type || ''], ['Base URL', (e) => e.base_url || ''], ['Keys', (e) => String((e.api_keys || []).length)]],
    template: { name: '', type: 'openai' },
  },
  {
    path: 'ai/models', title: 'AI models', singular: 'AI model',
    fields: [
      { key: 'name', label: 'Name', type: 'text', required: true, help: 'The model name clients send.' },
      { key: 'targets', label: 'Targets', type: 'modeltargets', help: 'One per line: provider, provider’s model and optional weight, like openai gpt-4o 1.' },
      { key: 'fallbacks', label: 'Fallbacks', type: 'list', help: 'Other model names, tried in order.' },
    ],
    columns: [['Targets', (e) => (e.targets || []).map((t: any) => `${t.provider}/${t.model}`).join(', ')], ['Fallbacks', (e) => list(e.fallbacks)]],
    template: { name: '', targets: [] },
  },
];

export const kindByPath = (p: string) => kinds.find((k) => k.path === p)!;
