package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signingService is the SigV4 service name of bedrock-runtime.
const signingService = "bedrock"

// credential is one key of the provider's pool, parsed.
//
// A pool key is read by one rule: a key that contains ':' is an AWS
// credential, ACCESS_KEY_ID:SECRET_ACCESS_KEY or
// ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN, and requests are signed
// with SigV4; a key without ':' is an Amazon Bedrock API key (short-term
// "bedrock-api-key-…" or long-term "ABSK…"), sent as
// "Authorization: Bearer KEY". Neither AWS secrets, session tokens nor
// Bedrock API keys (base64 or base64url text) contain ':', so the rule
// is unambiguous.
type credential struct {
	bearer string
	aws    aws.Credentials
}

// errKeyForm reports a pool key that follows neither form. Its text never
// contains the key.
var errKeyForm = errors.New("a bedrock key is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN] or a Bedrock API key")

// parseCredential parses one pool key by the rule of credential.
func parseCredential(key string) (credential, error) {
	if key == "" || strings.ContainsFunc(key, isSpaceOrControl) {
		return credential{}, errKeyForm
	}
	if !strings.Contains(key, ":") {
		return credential{bearer: key}, nil
	}
	parts := strings.Split(key, ":")
	if len(parts) > 3 {
		return credential{}, errKeyForm
	}
	for _, p := range parts {
		if p == "" {
			return credential{}, errKeyForm
		}
	}
	c := credential{aws: aws.Credentials{AccessKeyID: parts[0], SecretAccessKey: parts[1], Source: "sluice"}}
	if len(parts) == 3 {
		c.aws.SessionToken = parts[2]
	}
	return c, nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// authorize adds the credential to req, whose body is body: a bearer
// header, or a SigV4 signature over the method, path, headers and the
// SHA-256 of body, for region at time now. Headers set on req after
// authorize are not signed.
func (c *credential) authorize(ctx context.Context, s *v4.Signer, req *http.Request, body []byte, region string, now time.Time) error {
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		return nil
	}
	sum := sha256.Sum256(body)
	return s.SignHTTP(ctx, c.aws, req, hex.EncodeToString(sum[:]), signingService, region, now)
}
