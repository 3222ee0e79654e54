// The official Node SDKs against a running sluice: the Go test
// (internal/ai/node_test.go) starts the gateway in front of mock providers
// and runs this script with SLUICE_URL and SLUICE_KEY set. Every check
// throws on a mismatch; the script exits non-zero on the first failure.
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.SLUICE_URL;
const apiKey = process.env.SLUICE_KEY;
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });

const weather = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

for (const model of ['gpt', 'claude']) {
  await check(`openai chat via ${model}`, async () => {
    const r = await openai.chat.completions.create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] });
    assert.equal(r.choices[0].message.content, 'Hello from the mock.');
    assert.equal(r.model, model);
    assert.equal(r.usage.prompt_tokens, 9);
  });

  await check(`openai stream with tool call via ${model}`, async () => {
    const stream = await openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Weather in Nice?' }], tools: [weather] });
    let args = '';
    let name = '';
    let finish = '';
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta;
      for (const tc of d?.tool_calls ?? []) {
        name ||= tc.function?.name ?? '';
        args += tc.function?.arguments ?? '';
      }
      finish ||= chunk.choices[0]?.finish_reason ?? '';
    }
    assert.equal(name, 'get_weather');
    assert.equal(args, '{"city":"Nice"}');
    assert.equal(finish, 'tool_calls');
  });

  await check(`anthropic message via ${model}`, async () => {
    const m = await anthropic.messages.create({ model, max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] });
    assert.equal(m.content[0].text, 'Hello from the mock.');
    assert.equal(m.stop_reason, 'end_turn');
  });

  await check(`anthropic stream via ${model}`, async () => {
    const stream = anthropic.messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'Hello' }] });
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, 'Hello from the mock.');
    assert.equal(final.content[0].text, 'Hello from the mock.');
  });
}

await check('openai typed error for an unknown model', async () => {
  await assert.rejects(openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, `got ${e?.constructor?.name}`);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
});

await check('anthropic typed error for an unknown model', async () => {
  await assert.rejects(anthropic.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e) => {
    assert.ok(e instanceof Anthropic.NotFoundError, `got ${e?.constructor?.name}`);
    return true;
  });
});
