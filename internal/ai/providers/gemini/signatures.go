package gemini

import "sync"

// Thought signatures are opaque tokens Gemini attaches to function-call
// parts; Gemini 3 models want them back, on the same parts, when the
// conversation is replayed. The canonical schema (and the OpenAI and
// Anthropic formats clients use) has no place for them, so the adapter
// keeps them in a bounded per-process cache, keyed by provider model and
// tool-call id, and puts them back when a later request replays the call.
// A replay the cache cannot serve (another gateway node, a restart, an
// evicted entry, a conversation begun on another provider) gets Gemini's
// documented placeholder signature instead.

// signatureCacheSize bounds the number of remembered signatures.
const signatureCacheSize = 4096

// maxSignature bounds one remembered signature; longer ones are not kept.
const maxSignature = 64 << 10

type signatureCache struct{ m *boundedMap }

func newSignatureCache(size int) *signatureCache { return &signatureCache{m: newBoundedMap(size)} }

func sigKey(model, id string) string { return model + "\x00" + id }

// put remembers sig for the call id of model.
func (c *signatureCache) put(model, id, sig string) {
	if len(sig) > maxSignature || id == "" {
		return
	}
	c.m.put(sigKey(model, id), sig)
}

// get returns the signature remembered for the call id of model, or "".
func (c *signatureCache) get(model, id string) string {
	v, _ := c.m.get(sigKey(model, id))
	return v
}

// boundedMap is a string map of at most size entries that forgets the
// oldest entry first. It is safe for concurrent use.
type boundedMap struct {
	mu   sync.Mutex
	m    map[string]string
	ring []string // keys in insertion order, for eviction
	next int
}

func newBoundedMap(size int) *boundedMap {
	return &boundedMap{m: make(map[string]string, size), ring: make([]string, size)}
}

func (b *boundedMap) put(k, v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; ok {
		b.m[k] = v
		return
	}
	if old := b.ring[b.next]; old != "" {
		delete(b.m, old)
	}
	b.ring[b.next] = k
	b.next = (b.next + 1) % len(b.ring)
	b.m[k] = v
}

func (b *boundedMap) get(k string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}
