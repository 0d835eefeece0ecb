package fakegithub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// authKind is how an operation authenticates.
type authKind int

const (
	// authInstallation needs an installation access token minted by the fake.
	authInstallation authKind = iota
	// authApp needs an App JWT.
	authApp
)

// GitHub's limits on App JWTs and installation tokens.
const (
	maxJWTLifetime = 10 * time.Minute
	tokenLifetime  = time.Hour
)

func unauthorized(message, violation string) *reply {
	r := ghError(http.StatusUnauthorized, message, "https://docs.github.com/rest")
	r.violation = violation
	return &r
}

// authenticate checks the Authorization header for the operation's kind of credential and returns the rate-limit
// bucket the request counts against.
func (s *Server) authenticate(c *call) (string, *reply) {
	header := c.r.Header.Get("Authorization")
	if header == "" {
		return "", unauthorized("Requires authentication", "no Authorization header")
	}
	scheme, cred, _ := strings.Cut(header, " ")
	scheme = strings.ToLower(scheme)
	if c.op.auth == authApp {
		if scheme != "bearer" {
			return "", unauthorized("A JSON web token could not be decoded",
				"an /app endpoint needs an App JWT (Authorization: Bearer <jwt>), got a "+scheme+" credential")
		}
		if rep := s.verifyJWT(cred); rep != nil {
			return "", rep
		}
		return "app", nil
	}
	if scheme != "bearer" && scheme != "token" {
		return "", unauthorized("Bad credentials", "unsupported Authorization scheme "+strconv.Quote(scheme))
	}
	tok := s.st.token(cred)
	switch {
	case tok == nil && strings.Count(cred, ".") == 2:
		return "", unauthorized("Bad credentials", "an App JWT was used where an installation token is needed")
	case tok == nil:
		return "", unauthorized("Bad credentials", "the token was not minted by this fake")
	case tok.Revoked:
		return "", unauthorized("Bad credentials", "the installation token was revoked")
	case time.Now().After(tok.ExpiresAt):
		return "", unauthorized("Bad credentials", "the installation token expired")
	}
	c.token = tok
	return fmt.Sprintf("installation:%d", tok.InstallationID), nil
}

// verifyJWT checks an App JWT the way GitHub does: RS256 signed by the App key, iss = App id, iat not in the
// future, exp in the future and at most ten minutes after now.
func (s *Server) verifyJWT(raw string) *reply {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}))
	var verr *jwt.ValidationError
	switch {
	case errors.As(err, &verr) && verr.Errors&jwt.ValidationErrorExpired != 0:
		return unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future "+
			"time at which the assertion expires", "App JWT expired")
	case errors.As(err, &verr) && verr.Errors&jwt.ValidationErrorIssuedAt != 0:
		return unauthorized("'Issued at' claim ('iat') must be an Integer representing the time that the "+
			"assertion was issued", "App JWT issued in the future")
	case err != nil:
		return unauthorized("A JSON web token could not be decoded", "App JWT: "+err.Error())
	case claims.ExpiresAt == nil:
		return unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future "+
			"time at which the assertion expires", "App JWT has no exp")
	case claims.ExpiresAt.After(time.Now().Add(maxJWTLifetime + time.Minute)):
		return unauthorized("'Expiration time' claim ('exp') is too far in the future",
			"App JWT exp is more than 10 minutes ahead")
	case claims.Issuer != strconv.FormatInt(s.appID, 10):
		return unauthorized("Integration not found", fmt.Sprintf("App JWT iss %q is not the App id %d",
			claims.Issuer, s.appID))
	}
	return nil
}

// authorizeRepo resolves the repository of a /repos/{owner}/{repo}/... operation and checks that the token may
// use it: the repository belongs to the token's installation and scope (GitHub answers 404 otherwise, to not
// reveal private repositories) and the token holds a permission the operation needs (403 otherwise).
func (s *Server) authorizeRepo(c *call) *reply {
	owner, hasOwner := c.params["owner"]
	name, hasRepo := c.params["repo"]
	if c.op.auth != authInstallation || !hasOwner || !hasRepo {
		return nil
	}
	rs := s.st.repo(owner, name)
	if rs == nil {
		r := notFound()
		return &r
	}
	tok := c.token
	if rs.InstallationID != tok.InstallationID {
		r := notFound()
		r.violation = fmt.Sprintf("a token of installation %d used on %s/%s, which belongs to installation %d",
			tok.InstallationID, rs.Owner, rs.Name, rs.InstallationID)
		return &r
	}
	if len(tok.Repositories) > 0 && !slices.ContainsFunc(tok.Repositories, func(n string) bool {
		return strings.EqualFold(n, rs.Name)
	}) {
		r := notFound()
		r.violation = fmt.Sprintf("the token is scoped to %v, not %s", tok.Repositories, rs.Name)
		return &r
	}
	if !permits(tok.Permissions, c.op.perms) {
		r := ghError(http.StatusForbidden, "Resource not accessible by integration", c.op.desc.DocURL)
		r.violation = fmt.Sprintf("the token's permissions %v allow none of %v", tok.Permissions, c.op.perms)
		return &r
	}
	c.repo = rs
	return nil
}

func level(p string) int {
	switch p {
	case "read":
		return 1
	case "write":
		return 2
	case "admin":
		return 3
	}
	return 0
}

// permits reports whether granted holds one of the needed "name:level" permissions. Metadata read is implied by
// every installation token, as on GitHub.
func permits(granted map[string]string, needed []string) bool {
	if len(needed) == 0 {
		return true
	}
	for _, n := range needed {
		name, lvl, _ := strings.Cut(n, ":")
		if name == "metadata" && lvl == "read" || level(granted[name]) >= level(lvl) {
			return true
		}
	}
	return false
}

func (st *state) token(value string) *Token {
	for _, t := range st.tokens {
		if t.Token == value {
			return t
		}
	}
	return nil
}

// mintToken issues a deterministic installation token ("ghs_" and 36 characters, as GitHub's).
func (st *state) mintToken(installationID int64, perms map[string]string, repos []string) *Token {
	sum := sha256.Sum256([]byte(fmt.Sprintf("installation-token-%d", len(st.tokens)+1)))
	t := &Token{
		InstallationID: installationID,
		Token:          "ghs_" + hex.EncodeToString(sum[:])[:36],
		Permissions:    perms,
		Repositories:   repos,
		ExpiresAt:      time.Now().Add(tokenLifetime).UTC().Truncate(time.Second),
	}
	st.tokens = append(st.tokens, t)
	return t
}
