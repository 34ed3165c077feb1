package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

// tokenPrefix marks scimflow secrets so that secret scanners and humans
// recognise them.
const tokenPrefix = "sfw_"

// lastUsedGranularity bounds how often authentication writes lastUsedAt:
// an IdP sending hundreds of requests a second must not turn every read
// into a write.
const lastUsedGranularity = time.Minute

type tokenRow struct {
	ID         string
	OrgID      string
	UserID     *string
	Scope      string
	Name       string
	SecretHash string
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (tokenRow) TableName() string { return "api_tokens" }

func (r *tokenRow) domain() *scimflow.Token {
	t := &scimflow.Token{ID: r.ID, OrgID: r.OrgID, Scope: scimflow.Scope(r.Scope), Name: r.Name,
		ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, CreatedAt: r.CreatedAt}
	if r.UserID != nil {
		t.UserID = *r.UserID
	}
	return t
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns a token secret with 256 bits of randomness.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// NewToken describes a token to create.
type NewToken struct {
	Scope     scimflow.Scope
	Name      string
	UserID    string        // owner; admin tokens default to the org's first Org Admin
	ExpiresIn time.Duration // 0: never expires
}

// CreateToken creates a token in org and returns it with its secret. The
// secret is not stored and cannot be shown again.
func (db *DB) CreateToken(ctx context.Context, orgID string, in NewToken) (*scimflow.Token, string, error) {
	if !in.Scope.Valid() {
		return nil, "", scimflow.Errorf(scimflow.EINVALID, "unknown scope %q: want scim or admin", in.Scope)
	}
	if in.ExpiresIn < 0 {
		return nil, "", scimflow.Errorf(scimflow.EINVALID, "expiry must be in the future")
	}
	var (
		tok    *scimflow.Token
		secret string
	)
	err := db.write(ctx, "create token", func(tx *gorm.DB, q *scimflow.Queued) error {
		var org orgRow
		if err := tx.Where("id = ?", orgID).Take(&org).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return scimflow.Errorf(scimflow.ENOTFOUND, "org %s not found", orgID)
		} else if err != nil {
			return err
		}
		t := &scimflow.Token{OrgID: orgID, Scope: in.Scope, Name: strings.TrimSpace(in.Name), UserID: in.UserID}
		if in.Scope == scimflow.ScopeAdmin {
			if err := resolveTokenOwner(tx, t); err != nil {
				return err
			}
		} else {
			t.UserID = ""
		}
		now := db.now()
		if in.ExpiresIn > 0 {
			exp := now.Add(in.ExpiresIn)
			t.ExpiresAt = &exp
		}
		var err error
		if tok, secret, err = insertToken(tx, t, now); err != nil {
			return err
		}
		q.Record(orgID, scimflow.EventTokenCreated, tokenTarget(tok), tokenDetails(tok))
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

// resolveTokenOwner checks (or picks) the Org Admin that owns an admin token.
func resolveTokenOwner(tx *gorm.DB, t *scimflow.Token) error {
	q := tx.Model(&userRow{}).Where("org_id = ? AND org_role = ?", t.OrgID, string(scimflow.RoleOrgAdmin))
	if t.UserID != "" {
		q = q.Where("id = ?", t.UserID)
	} else {
		q = q.Where("source = 'local'")
	}
	var ids []string
	if err := q.Order("created_at, id").Limit(1).Pluck("id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		if t.UserID != "" {
			return scimflow.Errorf(scimflow.EINVALID, "user %s is not an Org Admin of org %s", t.UserID, t.OrgID)
		}
		return scimflow.Errorf(scimflow.EINVALID, "org %s has no Org Admin to own an admin token", t.OrgID)
	}
	t.UserID = ids[0]
	return nil
}

func insertToken(tx *gorm.DB, t *scimflow.Token, now time.Time) (*scimflow.Token, string, error) {
	secret := newSecret()
	r := tokenRow{ID: uuid.NewString(), OrgID: t.OrgID, Scope: string(t.Scope), Name: t.Name,
		SecretHash: hashSecret(secret), ExpiresAt: t.ExpiresAt, CreatedAt: now}
	if t.UserID != "" {
		r.UserID = &t.UserID
	}
	if err := tx.Create(&r).Error; err != nil {
		return nil, "", err
	}
	return r.domain(), secret, nil
}

// Authenticate returns the usable token whose secret is given. Unknown,
// expired and revoked tokens are all EUNAUTHORIZED, with the same message,
// so that a caller learns nothing about other tokens.
func (db *DB) Authenticate(ctx context.Context, secret string) (*scimflow.Token, error) {
	unauthorized := scimflow.Errorf(scimflow.EUNAUTHORIZED, "invalid, expired or revoked token")
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return nil, unauthorized
	}
	var r tokenRow
	err := db.gorm.WithContext(ctx).Where("secret_hash = ?", hashSecret(secret)).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, internal("authenticate", err)
	}
	t := r.domain()
	now := db.now()
	if !t.Usable(now) {
		return nil, unauthorized
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedGranularity {
		err := db.gorm.WithContext(ctx).Model(&tokenRow{}).Where("id = ?", t.ID).Update("last_used_at", now).Error
		if err != nil {
			return nil, internal("touch token", err)
		}
		t.LastUsedAt = &now
	}
	return t, nil
}

// ListTokens returns the tokens of org, newest first, optionally of one scope.
func (db *DB) ListTokens(ctx context.Context, orgID string, scope scimflow.Scope) ([]*scimflow.Token, error) {
	q := db.gorm.WithContext(ctx).Where("org_id = ?", orgID)
	if scope != "" {
		q = q.Where("scope = ?", string(scope))
	}
	var rows []tokenRow
	if err := q.Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, internal("list tokens", err)
	}
	out := make([]*scimflow.Token, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// RevokeToken revokes a token of org. Revoking twice is not an error (and
// is recorded once).
func (db *DB) RevokeToken(ctx context.Context, orgID, tokenID string) (*scimflow.Token, error) {
	var out *scimflow.Token
	err := db.write(ctx, "revoke token", func(tx *gorm.DB, q *scimflow.Queued) error {
		var r tokenRow
		err := tx.Where("org_id = ? AND id = ?", orgID, tokenID).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return scimflow.Errorf(scimflow.ENOTFOUND, "token %s not found", tokenID)
		} else if err != nil {
			return err
		}
		if r.RevokedAt == nil {
			now := db.now()
			res := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", tokenID).Update("revoked_at", now)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected > 0 {
				r.RevokedAt = &now
				q.Record(orgID, scimflow.EventTokenRevoked, tokenTarget(r.domain()), tokenDetails(r.domain()))
			}
		}
		out = r.domain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func tokenTarget(t *scimflow.Token) scimflow.Target {
	return scimflow.Target{Type: scimflow.TargetToken, ID: t.ID, Name: t.Name}
}

func tokenDetails(t *scimflow.Token) map[string]any {
	d := map[string]any{"scope": string(t.Scope)}
	if t.ExpiresAt != nil {
		d["expiresAt"] = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// HasActiveSCIMToken reports whether org has at least one unexpired,
// unrevoked SCIM token: an active provisioning integration.
func (db *DB) HasActiveSCIMToken(ctx context.Context, orgID string) (bool, error) {
	var n int64
	err := db.gorm.WithContext(ctx).Model(&tokenRow{}).
		Where("org_id = ? AND scope = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", orgID, string(scimflow.ScopeSCIM), db.now()).
		Count(&n).Error
	if err != nil {
		return false, internal("count scim tokens", err)
	}
	return n > 0, nil
}
