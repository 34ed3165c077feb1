package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/scimflow"
)

type orgRow struct {
	ID         string
	Name       string
	Plan       string
	SCIMGroups bool      `gorm:"column:scim_groups"`
	CreatedAt  time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
	UpdatedAt  time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (orgRow) TableName() string { return "orgs" }

func (r *orgRow) domain() *scimflow.Org {
	return &scimflow.Org{ID: r.ID, Name: r.Name, Plan: scimflow.Plan(r.Plan), SCIMGroups: r.SCIMGroups, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// NewOrg describes an org to bootstrap.
type NewOrg struct {
	Name          string
	Plan          scimflow.Plan // default business
	SCIMGroups    bool
	AdminUserName string // userName of the first Org Admin; default "admin"
}

// Bootstrap is what CreateOrg made: the org, its first Org Admin, and an
// admin token for that admin with its secret (shown once).
type Bootstrap struct {
	Org         *scimflow.Org
	Admin       *scimflow.User
	AdminToken  *scimflow.Token
	TokenSecret string
}

// CreateOrg creates an org, its first Org Admin (a local user, invisible to
// SCIM) and an admin token for that admin, in one transaction.
func (db *DB) CreateOrg(ctx context.Context, in NewOrg) (*Bootstrap, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, scimflow.Errorf(scimflow.EINVALID, "org name is required")
	}
	if in.Plan == "" {
		in.Plan = scimflow.PlanBusiness
	}
	if !in.Plan.Valid() {
		return nil, scimflow.Errorf(scimflow.EINVALID, "unknown plan %q: want free, business or enterprise", in.Plan)
	}
	if in.AdminUserName == "" {
		in.AdminUserName = "admin"
	}
	t := db.now()
	org := orgRow{ID: uuid.NewString(), Name: in.Name, Plan: string(in.Plan), SCIMGroups: in.SCIMGroups, CreatedAt: t, UpdatedAt: t}
	admin := &scimflow.User{
		ID: uuid.NewString(), OrgID: org.ID, Local: true, Role: scimflow.RoleOrgAdmin,
		UserName: in.AdminUserName, DisplayName: "Org Admin", Active: true,
	}
	var out Bootstrap
	err := db.write(ctx, "create org", func(tx *gorm.DB, q *scimflow.Queued) error {
		if err := tx.Create(&org).Error; err != nil {
			return err
		}
		if err := insertUser(tx, admin, t); err != nil {
			return err
		}
		tok, secret, err := insertToken(tx, &scimflow.Token{OrgID: org.ID, UserID: admin.ID, Scope: scimflow.ScopeAdmin, Name: "bootstrap"}, t)
		if err != nil {
			return err
		}
		out = Bootstrap{Org: org.domain(), Admin: admin, AdminToken: tok, TokenSecret: secret}
		q.Record(org.ID, scimflow.EventTokenCreated, tokenTarget(tok), tokenDetails(tok))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FindOrg returns the org with the given id.
func (db *DB) FindOrg(ctx context.Context, orgID string) (*scimflow.Org, error) {
	var r orgRow
	err := db.gorm.WithContext(ctx).Where("id = ?", orgID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "org %s not found", orgID)
	}
	if err != nil {
		return nil, internal("find org", err)
	}
	return r.domain(), nil
}

// OrgUpdate lists the org fields to change; nil fields are left alone.
type OrgUpdate struct {
	Name       *string
	Plan       *scimflow.Plan
	SCIMGroups *bool
}

// UpdateOrg changes an org's name, plan or feature flags.
func (db *DB) UpdateOrg(ctx context.Context, orgID string, u OrgUpdate) (*scimflow.Org, error) {
	set := map[string]any{"updated_at": db.now()}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" {
			return nil, scimflow.Errorf(scimflow.EINVALID, "org name must not be empty")
		}
		set["name"] = name
	}
	if u.Plan != nil {
		if !u.Plan.Valid() {
			return nil, scimflow.Errorf(scimflow.EINVALID, "unknown plan %q: want free, business or enterprise", *u.Plan)
		}
		set["plan"] = string(*u.Plan)
	}
	if u.SCIMGroups != nil {
		set["scim_groups"] = *u.SCIMGroups
	}
	res := db.gorm.WithContext(ctx).Model(&orgRow{}).Where("id = ?", orgID).Updates(set)
	if res.Error != nil {
		return nil, internal("update org", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, scimflow.Errorf(scimflow.ENOTFOUND, "org %s not found", orgID)
	}
	return db.FindOrg(ctx, orgID)
}
