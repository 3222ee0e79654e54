// The AI playground: pick a configured model, send a chat, watch the
// answer stream (POST /playground/chat, OpenAI Chat Completions with
// stream: true), and see tokens, cost, latency and the provider.
import { useRef, useState } from 'preact/hooks';
import { ApiError, get } from '../api';
import { ErrorBox, Loading, Page, fmtMs, fmtNum, useAsync } from '../ui';

interface Result {
  provider?: string;
  providerModel?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUSD?: number;
  firstTokenMs?: number;
  totalMs?: number;
  requestId?: string;
}

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)sluice_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : sessionStorage.getItem('sluice_csrf') || '';
}

export function Playground() {
  const models = useAsync(() => get('/ai/models?size=1000'), []);
  const [model, setModel] = useState('');
  const [system, setSystem] = useState('');
  const [prompt, setPrompt] = useState('');
  const [answer, setAnswer] = useState('');
  const [res, setRes] = useState<Result | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const list: any[] = models.data?.data || [];
  const chosen = model || list[0]?.name || '';

  async function send(e: Event) {
    e.preventDefault();
    setErr(null);
    setAnswer('');
    setRes(null);
    setBusy(true);
    const ac = new AbortController();
    abort.current = ac;
    const start = performance.now();
    const r: Result = {};
    try {
      const messages = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }];
      const resp = await fetch('/api/v1/playground/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': csrf() },
        body: JSON.stringify({ model: chosen, messages, stream: true, stream_options: { include_usage: true } }),
        signal: ac.signal,
        credentials: 'same-origin',
      });
      r.requestId = resp.headers.get('X-Request-Id') || undefined;
      r.provider = resp.headers.get('Sluice-Provider') || undefined;
      r.providerModel = resp.headers.get('Sluice-Provider-Model') || undefined;
      if (!resp.ok) {
        let body: any = null;
        try { body = await resp.json(); } catch { /* not JSON */ }
        throw new ApiError(resp.status, body?.error ? { detail: body.error.message, code: body.error.code } : body);
      }
      const reader = resp.body!.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') continue;
            let chunk: any;
            try { chunk = JSON.parse(data); } catch { continue; }
            const delta = chunk.choices?.[0]?.delta?.content;
            if (delta) {
              if (r.firstTokenMs === undefined) r.firstTokenMs = performance.now() - start;
              text += delta;
              setAnswer(text);
            }
            if (chunk.usage) {
              r.inputTokens = chunk.usage.prompt_tokens;
              r.outputTokens = chunk.usage.completion_tokens;
            }
            if (chunk.sluice) {
              r.provider = chunk.sluice.provider ?? r.provider;
              r.providerModel = chunk.sluice.provider_model ?? r.providerModel;
              r.costUSD = chunk.sluice.cost_usd ?? r.costUSD;
            }
            if (chunk.error) throw new ApiError(502, { detail: chunk.error.message, code: chunk.error.code });
          }
        }
      }
      r.totalMs = performance.now() - start;
      setRes({ ...r });
    } catch (x) {
      if ((x as Error).name !== 'AbortError') setErr(x);
      r.totalMs = performance.now() - start;
      setRes({ ...r });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title="AI playground">
      <ErrorBox error={models.error} />
      {models.loading ? <Loading /> : list.length === 0 ? (
        <p class="card">No AI models are configured. <a href="/ai/providers/new">Add a provider</a>, then <a href="/ai/models/new">a model</a>.</p>
      ) : (
        <div class="grid-2 wide-first">
          <form class="card" onSubmit={send} aria-label="Chat">
            <div class="field">
              <label for="pg-model">Model</label>
              <select id="pg-model" value={chosen} onChange={(e) => setModel(e.currentTarget.value)}>
                {list.map((m) => <option value={m.name}>{m.name}</option>)}
              </select>
            </div>
            <div class="field">
              <label for="pg-system">System prompt (optional)</label>
              <textarea id="pg-system" rows={2} value={system} onInput={(e) => setSystem(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="pg-prompt">Message</label>
              <textarea id="pg-prompt" rows={4} required value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
            </div>
            <div class="form-buttons">
              <button type="submit" class="primary" disabled={busy || !prompt.trim()}>{busy ? 'Streaming…' : 'Send'}</button>
              {busy && <button type="button" onClick={() => abort.current?.abort()}>Stop</button>}
            </div>
            <ErrorBox error={err} />
            <h2>Answer</h2>
            <div class="answer" aria-live="polite" data-testid="answer">{answer || <span class="muted">The answer streams here.</span>}</div>
          </form>
          <div class="card">
            <h2>This request</h2>
            {!res ? <p class="muted">Send a message to see its provider, tokens, cost and timing.</p> : (
              <dl class="facts">
                <dt>Provider</dt><dd data-testid="provider">{res.provider ? `${res.provider}${res.providerModel ? ' / ' + res.providerModel : ''}` : '–'}</dd>
                <dt>Tokens</dt><dd data-testid="tokens">{res.inputTokens != null ? `${fmtNum(res.inputTokens)} in, ${fmtNum(res.outputTokens ?? 0)} out` : '–'}</dd>
                <dt>Cost</dt><dd>{res.costUSD != null ? `$${fmtNum(res.costUSD, 6)}` : '–'}</dd>
                <dt>First token</dt><dd>{res.firstTokenMs != null ? fmtMs(res.firstTokenMs) : '–'}</dd>
                <dt>Total</dt><dd>{res.totalMs != null ? fmtMs(res.totalMs) : '–'}</dd>
                <dt>Request id</dt><dd>{res.requestId ? <a href={`/logs/${res.requestId}`}><code>{res.requestId}</code></a> : '–'}</dd>
              </dl>
            )}
          </div>
        </div>
      )}
    </Page>
  );
}
