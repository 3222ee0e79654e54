// Package consumer holds the consumers of a config snapshot and their
// credentials, indexed for the auth plugins: API keys and basic-auth
// passwords by keyed digest (so secrets are compared in constant time and
// never kept in the clear), JWT credentials by issuer with their keys
// parsed once. It also holds the request-reading helpers the auth plugins
// share (extract.go), so every plugin reads Authorization and query
// parameters the same strict way.
package consumer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sluicegw/sluice/internal/config"
)

// Consumer is an identified client of the gateway. It is immutable.
type Consumer struct {
	Name   string
	Groups []string

	// Plugins are consumer-scoped plugin instances by plugin name, built by
	// the snapshot; nil when none.
	Plugins map[string]any

	groupsHeader string
}

// InGroup reports whether c belongs to group g.
func (c *Consumer) InGroup(g string) bool {
	for _, x := range c.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// GroupsHeader returns c's groups joined by ", ", the value sent upstream
// as X-Consumer-Groups. It is computed once when the index is built.
func (c *Consumer) GroupsHeader() string { return c.groupsHeader }

// JWT is a consumer's JWT credential: tokens whose `iss` is Issuer must be
// signed with Algorithm by Key.
type JWT struct {
	Consumer  *Consumer
	Issuer    string
	Algorithm string
	// Key is the verification key: []byte for HS*, *rsa.PublicKey for RS*
	// and PS*, *ecdsa.PublicKey for ES*, ed25519.PublicKey for EdDSA.
	Key any
	// ID names the credential without revealing it ("jwt:ISSUER").
	ID string
}

type digest [sha256.Size]byte

// keyCred is a key-auth credential, indexed by the key's keyed digest.
type keyCred struct {
	consumer *Consumer
	id       string
}

// basic is a basic-auth credential: the password is kept only as a keyed
// digest.
type basic struct {
	consumer *Consumer
	password digest
	id       string
}

// hasher is a reusable keyed-digest state with its scratch buffers, so a
// lookup allocates nothing.
type hasher struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// Index is the consumers of one snapshot. It is immutable (apart from its
// internal hasher pool) and safe for concurrent use. It must not be copied.
type Index struct {
	hashers sync.Pool
	byName  map[string]*Consumer
	keys    map[digest]keyCred
	basics  map[string]basic
	jwts    map[string]*JWT
}

// Options are the optional inputs of Build.
type Options struct {
	// NewMAC returns the keyed hash that digests credentials: the node's
	// secret.Keyring (NewDigestMAC), so that credentials stored by the
	// admin API (as digests made with the same key) can be matched. Nil
	// uses a random key, good for file-declared credentials only.
	NewMAC func() hash.Hash
	// Stored are credentials managed through the admin API. Their
	// consumers must be among the consumers given to Build.
	Stored []Stored
}

// Stored is a credential from the store: secrets only as digests or sealed
// material, as the admin API wrote them.
type Stored struct {
	ID       string
	Consumer string
	Type     string // key-auth, basic-auth, jwt
	// Lookup is the keyed digest of the key (key-auth), the username
	// (basic-auth) or the issuer (jwt).
	Lookup []byte
	// Secret is, for basic-auth, the keyed digest of the password; for an
	// HS* jwt credential, the shared secret.
	Secret []byte
	// Attrs hold the non-secret fields: username, issuer, algorithm,
	// public_key.
	Attrs map[string]string
}

// Build indexes the consumers of a config and the stored credentials.
// Credential problems (a public key that does not parse) are errors naming
// the consumer; the returned index then holds every credential that did
// build.
func Build(consumers []config.Consumer, opts ...Options) (*Index, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ix := &Index{
		byName: make(map[string]*Consumer, len(consumers)),
		keys:   map[digest]keyCred{},
		basics: map[string]basic{},
		jwts:   map[string]*JWT{},
	}
	newMAC := o.NewMAC
	if newMAC == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		newMAC = func() hash.Hash { return hmac.New(sha256.New, key) }
	}
	ix.hashers.New = func() any { return &hasher{mac: newMAC()} }
	var errs []error
	for i := range consumers {
		cc := &consumers[i]
		c := &Consumer{Name: cc.Name, Groups: cc.Groups, groupsHeader: strings.Join(cc.Groups, ", ")}
		ix.byName[c.Name] = c
		for j, cr := range cc.Credentials {
			switch cr.Type {
			case "key-auth":
				// The id is the credential's place in the consumer's list:
				// stable across reloads and free of the secret.
				ix.keys[ix.digest(cr.Key)] = keyCred{consumer: c, id: "key-auth:" + c.Name + "#" + strconv.Itoa(j)}
			case "basic-auth":
				ix.basics[cr.Username] = basic{consumer: c, password: ix.digest(cr.Password), id: "basic-auth:" + cr.Username}
			case "jwt":
				key, err := jwtKey(cr.Algorithm, cr.Secret, cr.PublicKey)
				if err != nil {
					errs = append(errs, fmt.Errorf("consumer %q: credentials[%d]: %w", c.Name, j, err))
					continue
				}
				ix.jwts[cr.Issuer] = &JWT{Consumer: c, Issuer: cr.Issuer, Algorithm: cr.Algorithm, Key: key, ID: "jwt:" + cr.Issuer}
			}
		}
	}
	for _, sc := range o.Stored {
		if err := ix.addStored(sc); err != nil {
			errs = append(errs, fmt.Errorf("consumer %q: credential %s: %w", sc.Consumer, sc.ID, err))
		}
	}
	return ix, errors.Join(errs...)
}

// addStored indexes one credential from the store.
func (ix *Index) addStored(sc Stored) error {
	c, ok := ix.byName[sc.Consumer]
	if !ok {
		return errors.New("its consumer is not in this config")
	}
	switch sc.Type {
	case "key-auth":
		var d digest
		if len(sc.Lookup) != len(d) {
			return errors.New("malformed key digest")
		}
		copy(d[:], sc.Lookup)
		ix.keys[d] = keyCred{consumer: c, id: "key-auth:" + sc.ID}
	case "basic-auth":
		var d digest
		user := sc.Attrs["username"]
		if user == "" || len(sc.Secret) != len(d) {
			return errors.New("malformed basic-auth credential")
		}
		copy(d[:], sc.Secret)
		ix.basics[user] = basic{consumer: c, password: d, id: "basic-auth:" + user}
	case "jwt":
		iss, alg := sc.Attrs["issuer"], sc.Attrs["algorithm"]
		key, err := jwtKey(alg, string(sc.Secret), sc.Attrs["public_key"])
		if err != nil {
			return err
		}
		ix.jwts[iss] = &JWT{Consumer: c, Issuer: iss, Algorithm: alg, Key: key, ID: "jwt:" + iss}
	default:
		return fmt.Errorf("unknown type %q", sc.Type)
	}
	return nil
}

// digest returns the keyed digest of secret. It allocates nothing once the
// pool is warm.
func (ix *Index) digest(secret string) digest {
	h := ix.hashers.Get().(*hasher)
	h.mac.Reset()
	h.buf = append(h.buf[:0], secret...)
	h.mac.Write(h.buf)
	var d digest
	copy(d[:], h.mac.Sum(h.sum[:0]))
	clear(h.buf)
	if cap(h.buf) > 4096 {
		h.buf = nil
	}
	ix.hashers.Put(h)
	return d
}

// Len returns the number of consumers.
func (ix *Index) Len() int { return len(ix.byName) }

// ByName returns the consumer called name.
func (ix *Index) ByName(name string) (*Consumer, bool) {
	c, ok := ix.byName[name]
	return c, ok
}

// All calls f for every consumer.
func (ix *Index) All(f func(*Consumer)) {
	for _, c := range ix.byName {
		f(c)
	}
}

// ByKey returns the consumer holding API key key. The key is looked up by
// its keyed digest, so the lookup reveals nothing usable about stored keys.
func (ix *Index) ByKey(key string) (*Consumer, bool) {
	c, _, ok := ix.Key(key)
	return c, ok
}

// Key is ByKey that also returns the credential's id, a name that is
// stable across reloads and reveals nothing about the key
// ("key-auth:CONSUMER#N").
func (ix *Index) Key(key string) (*Consumer, string, bool) {
	kc, ok := ix.keys[ix.digest(key)]
	return kc.consumer, kc.id, ok
}

// ByBasic returns the consumer with this basic-auth username and
// password, comparing the password's digest in constant time.
func (ix *Index) ByBasic(username, password string) (*Consumer, bool) {
	c, _, ok := ix.Basic(username, password)
	return c, ok
}

// Basic is ByBasic that also returns the credential's id
// ("basic-auth:USERNAME"). The password digest is computed whether or not
// the username exists, so timing does not tell which part was wrong.
func (ix *Index) Basic(username, password string) (*Consumer, string, bool) {
	b, ok := ix.basics[username]
	d := ix.digest(password)
	if subtle.ConstantTimeCompare(d[:], b.password[:]) != 1 || !ok {
		return nil, "", false
	}
	return b.consumer, b.id, true
}

// JWTByIssuer returns the JWT credential for issuer iss.
func (ix *Index) JWTByIssuer(iss string) (*JWT, bool) {
	j, ok := ix.jwts[iss]
	return j, ok
}

// jwtKey parses a JWT credential's verification key for its algorithm.
func jwtKey(alg, secret, publicKey string) (any, error) {
	switch {
	case strings.HasPrefix(alg, "HS"):
		if secret == "" {
			return nil, fmt.Errorf("%s needs a secret", alg)
		}
		return []byte(secret), nil
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		k, err := jwt.ParseRSAPublicKeyFromPEM([]byte(publicKey))
		if err != nil {
			return nil, fmt.Errorf("%s public_key: %w", alg, err)
		}
		return k, nil
	case strings.HasPrefix(alg, "ES"):
		k, err := jwt.ParseECPublicKeyFromPEM([]byte(publicKey))
		if err != nil {
			return nil, fmt.Errorf("%s public_key: %w", alg, err)
		}
		// ES256 is P-256, ES384 P-384, ES512 P-521: a key on another curve
		// could never verify a token, so it is a config error.
		if want := map[string]int{"ES256": 256, "ES384": 384, "ES512": 521}[alg]; k.Curve.Params().BitSize != want {
			return nil, fmt.Errorf("%s public_key: the key is on curve %s, not P-%d", alg, k.Curve.Params().Name, want)
		}
		return k, nil
	case alg == "EdDSA":
		k, err := jwt.ParseEdPublicKeyFromPEM([]byte(publicKey))
		if err != nil {
			return nil, fmt.Errorf("%s public_key: %w", alg, err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported algorithm %q", alg)
}
