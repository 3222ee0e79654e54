// Package consumer holds the consumers of a config snapshot and their
// credentials, indexed for the auth plugins: API keys and basic-auth
// passwords by keyed digest (so secrets are compared in constant time and
// never kept in the clear), JWT credentials by issuer with their keys
// parsed once.
package consumer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

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

// JWT is a consumer's JWT credential: tokens whose `iss` is Issuer must be
// signed with Algorithm by Key.
type JWT struct {
	Consumer  *Consumer
	Issuer    string
	Algorithm string
	// Key is the verification key: []byte for HS*, *rsa.PublicKey for RS*
	// and PS*, *ecdsa.PublicKey for ES*, ed25519.PublicKey for EdDSA.
	Key any
}

type digest [sha256.Size]byte

// basic is a basic-auth credential: the password is kept only as a keyed
// digest.
type basic struct {
	consumer *Consumer
	password digest
}

// Index is the consumers of one snapshot. It is immutable and safe for
// concurrent use.
type Index struct {
	hmacKey []byte
	byName  map[string]*Consumer
	keys    map[digest]*Consumer
	basics  map[string]basic
	jwts    map[string]*JWT
}

// Build indexes the consumers of a config. Credential problems (a public
// key that does not parse) are errors naming the consumer.
func Build(consumers []config.Consumer) (*Index, error) {
	ix := &Index{
		hmacKey: make([]byte, 32),
		byName:  make(map[string]*Consumer, len(consumers)),
		keys:    map[digest]*Consumer{},
		basics:  map[string]basic{},
		jwts:    map[string]*JWT{},
	}
	if _, err := rand.Read(ix.hmacKey); err != nil {
		return nil, err
	}
	var errs []error
	for i := range consumers {
		cc := &consumers[i]
		c := &Consumer{Name: cc.Name, Groups: cc.Groups}
		ix.byName[c.Name] = c
		for j, cr := range cc.Credentials {
			switch cr.Type {
			case "key-auth":
				ix.keys[ix.digest(cr.Key)] = c
			case "basic-auth":
				ix.basics[cr.Username] = basic{consumer: c, password: ix.digest(cr.Password)}
			case "jwt":
				key, err := jwtKey(cr.Algorithm, cr.Secret, cr.PublicKey)
				if err != nil {
					errs = append(errs, fmt.Errorf("consumer %q: credentials[%d]: %w", c.Name, j, err))
					continue
				}
				ix.jwts[cr.Issuer] = &JWT{Consumer: c, Issuer: cr.Issuer, Algorithm: cr.Algorithm, Key: key}
			}
		}
	}
	return ix, errors.Join(errs...)
}

func (ix *Index) digest(secret string) digest {
	m := hmac.New(sha256.New, ix.hmacKey)
	m.Write([]byte(secret))
	var d digest
	m.Sum(d[:0])
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
	c, ok := ix.keys[ix.digest(key)]
	return c, ok
}

// ByBasic returns the consumer with this basic-auth username and
// password, comparing the password's digest in constant time.
func (ix *Index) ByBasic(username, password string) (*Consumer, bool) {
	b, ok := ix.basics[username]
	d := ix.digest(password)
	if !ok {
		return nil, false
	}
	if subtle.ConstantTimeCompare(d[:], b.password[:]) != 1 {
		return nil, false
	}
	return b.consumer, true
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
