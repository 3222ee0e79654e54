package gemini

import "sync"

// Thought signatures are opaque tokens Gemini attaches to function-call
// parts; Gemini 3 models want them back, on the same parts, when the
// conversation is replayed. The canonical schema (and the OpenAI and
// Anthropic formats clients use) has no place for them, so the adapter
// keeps them here, keyed by provider model and tool-call id, and puts
// them back when a later request replays the call. The cache is per
// process and bounded: a replay it cannot serve (another gateway node, a
// restart, an evicted entry, a conversation begun on another provider)
// gets Gemini's documented placeholder signature instead.

// signatureCacheSize bounds the number of remembered signatures.
const signatureCacheSize = 4096

// maxSignature bounds one remembered signature; longer ones are not kept.
const maxSignature = 64 << 10

type signatureCache struct {
	mu   sync.Mutex
	m    map[string]string
	ring []string // keys in insertion order, for eviction
	next int
}

func newSignatureCache(size int) *signatureCache {
	return &signatureCache{m: make(map[string]string, size), ring: make([]string, size)}
}

func sigKey(model, id string) string { return model + "\x00" + id }

// put remembers sig for the call id of model, evicting the oldest entry
// when full.
func (c *signatureCache) put(model, id, sig string) {
	if len(sig) > maxSignature || id == "" {
		return
	}
	k := sigKey(model, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		c.m[k] = sig
		return
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.m, old)
	}
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.m[k] = sig
}

// get returns the signature remembered for the call id of model, or "".
func (c *signatureCache) get(model, id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[sigKey(model, id)]
}
