package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

type sessionRow struct {
	SecretHash string `gorm:"primaryKey"`
	OrgID      string
	TokenID    string
	CreatedAt  time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
	ExpiresAt  time.Time
}

func (sessionRow) TableName() string { return "admin_sessions" }

// CreateSession opens an admin UI session for the admin token tokenID of
// org and returns its secret (for the cookie) and when it ends: after ttl,
// or when the token expires, whichever comes first. Only a hash of the
// secret is stored.
func (db *DB) CreateSession(ctx context.Context, orgID, tokenID string, ttl time.Duration) (string, time.Time, error) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(b)
	now := db.now()
	var tok tokenRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, tokenID).Take(&tok).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", time.Time{}, scimflow.Errorf(scimflow.EUNAUTHORIZED, "invalid, expired or revoked token")
	}
	if err != nil {
		return "", time.Time{}, internal("create session", err)
	}
	exp := now.Add(ttl)
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(exp) {
		exp = tok.ExpiresAt.UTC()
	}
	r := sessionRow{SecretHash: hashSecret(secret), OrgID: orgID, TokenID: tokenID, CreatedAt: now, ExpiresAt: exp}
	if err := db.gorm.WithContext(ctx).Create(&r).Error; err != nil {
		return "", time.Time{}, internal("create session", err)
	}
	// Sessions that ended are of no use to anyone; drop them on the way.
	if err := db.gorm.WithContext(ctx).Where("expires_at <= ?", now).Delete(&sessionRow{}).Error; err != nil {
		return "", time.Time{}, internal("expire sessions", err)
	}
	return secret, exp, nil
}

// SessionToken returns the admin token behind a live session. A session
// whose token was revoked or has expired is over: it answers EUNAUTHORIZED
// like an unknown one.
func (db *DB) SessionToken(ctx context.Context, secret string) (*scimflow.Token, error) {
	unauthorized := scimflow.Errorf(scimflow.EUNAUTHORIZED, "no session, or the session has ended")
	if secret == "" || len(secret) > 100 {
		return nil, unauthorized
	}
	now := db.now()
	var r tokenRow
	err := db.gorm.WithContext(ctx).Table("api_tokens t").Select("t.*").
		Joins("JOIN admin_sessions s ON s.token_id = t.id AND s.org_id = t.org_id").
		Where("s.secret_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)",
			hashSecret(secret), now, now).
		Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, internal("find session", err)
	}
	return r.domain(), nil
}

// DeleteSession ends a session (sign-out). Ending an unknown or ended
// session is not an error.
func (db *DB) DeleteSession(ctx context.Context, secret string) error {
	if err := db.gorm.WithContext(ctx).Where("secret_hash = ?", hashSecret(secret)).Delete(&sessionRow{}).Error; err != nil {
		return internal("delete session", err)
	}
	return nil
}

// CreateSCIMToken creates a SCIM provisioning token for org; expiresIn 0
// means it never expires. The secret is returned once.
func (db *DB) CreateSCIMToken(ctx context.Context, orgID, name string, expiresIn time.Duration) (*scimflow.Token, string, error) {
	return db.CreateToken(ctx, orgID, NewToken{Scope: scimflow.ScopeSCIM, Name: strings.TrimSpace(name), ExpiresIn: expiresIn})
}
