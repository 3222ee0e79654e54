// The admin API client: every call the console makes goes through here.
// Sessions are the HttpOnly cookie the login sets; state-changing calls
// send the CSRF token (from the login answer, kept in the sluice_csrf
// cookie) as X-CSRF-Token. A 401 anywhere but the login sends the user
// back to the login page.

export interface Problem {
  path: string;
  field?: string;
  line?: number;
  message: string;
  config_path?: string;
}

/** ApiError is a problem+json answer of the admin API. */
export class ApiError extends Error {
  status: number;
  code: string;
  detail: string;
  problems: Problem[];
  requestId: string;
  constructor(status: number, body: any) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || '';
    this.detail = body?.detail || `The admin API answered ${status}.`;
    this.problems = Array.isArray(body?.problems) ? body.problems : [];
    this.requestId = body?.request_id || '';
  }
}

const base = '/api/v1';
let onUnauthorized: () => void = () => {};

/** setUnauthorizedHandler sets what happens when a session has ended. */
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

function csrfToken(): string {
  const m = document.cookie.match(/(?:^|;\s*)sluice_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : sessionStorage.getItem('sluice_csrf') || '';
}

export interface Reply<T> {
  data: T;
  etag: string | null;
  headers: Headers;
}

/** call sends one request and decodes the JSON answer. */
export async function call<T = any>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = csrfToken();
  const resp = await fetch(base + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await resp.text();
  let parsed: any = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
  }
  if (!resp.ok) {
    const err = new ApiError(resp.status, parsed);
    if (resp.status === 401 && path !== '/login') onUnauthorized();
    throw err;
  }
  return { data: parsed as T, etag: resp.headers.get('ETag'), headers: resp.headers };
}

/** text sends a plain-text body (a YAML document) and answers the response text; errors as call's. */
export async function text(method: string, path: string, body?: string): Promise<string> {
  const h: Record<string, string> = { Accept: 'application/yaml, application/json' };
  if (body !== undefined) h['Content-Type'] = 'application/yaml';
  if (method !== 'GET') h['X-CSRF-Token'] = csrfToken();
  const resp = await fetch(base + path, { method, headers: h, body, credentials: 'same-origin' });
  const t = await resp.text();
  if (!resp.ok) {
    let parsed: any = { detail: t };
    try {
      parsed = JSON.parse(t);
    } catch {
      /* not JSON */
    }
    if (resp.status === 401) onUnauthorized();
    throw new ApiError(resp.status, parsed);
  }
  return t;
}

export const get = <T = any>(path: string) => call<T>('GET', path).then((r) => r.data);

/** login opens a session and keeps the CSRF token. */
export async function login(username: string, password: string) {
  const r = await call('POST', '/login', { username, password });
  sessionStorage.setItem('sluice_csrf', r.data.csrf_token);
  sessionStorage.setItem('sluice_user', r.data.user);
  return r.data;
}

export async function logout() {
  try {
    await call('POST', '/logout');
  } finally {
    sessionStorage.removeItem('sluice_csrf');
    sessionStorage.removeItem('sluice_user');
  }
}

/** qs renders the non-empty values of o as a query string ("" or "?a=b"). */
export function qs(o: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
}
