package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/scimflow/scimflow/internal/scimflow"
)

type userRow struct {
	ID                  string
	OrgID               string
	Source              string
	OrgRole             string
	UserName            string
	ExternalID          *string
	Active              bool
	DisplayName         string
	NickName            string
	ProfileURL          string `gorm:"column:profile_url"`
	Title               string
	UserType            string
	PreferredLanguage   string
	Locale              string
	Timezone            string
	NameFormatted       string
	NameFamilyName      string
	NameGivenName       string
	NameMiddleName      string
	NameHonorificPrefix string
	NameHonorificSuffix string
	Enterprise          bool
	EmployeeNumber      string
	CostCenter          string
	Organization        string
	Division            string
	Department          string
	ManagerValue        string
	ManagerRef          string
	ManagerDisplayName  string
	// EmailSearch is every email value, one per line, for the trigram
	// index behind emails co/sw/ew (migration 00005). It is derived from
	// Emails here, so it changes whenever user_values does.
	EmailSearch string
	Version     int64
	CreatedAt   time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
	UpdatedAt   time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (userRow) TableName() string { return "users" }

type userValueRow struct {
	UserID        string
	Attr          string
	Ord           int
	Value         string
	Display       string
	Type          string
	IsPrimary     bool
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
}

func (userValueRow) TableName() string { return "user_values" }

// Names of the multi-valued attributes as stored in user_values.attr.
const (
	attrEmails       = "emails"
	attrPhoneNumbers = "phoneNumbers"
	attrIMs          = "ims"
	attrPhotos       = "photos"
	attrEntitlements = "entitlements"
	attrRoles        = "roles"
	attrX509         = "x509Certificates"
	attrAddresses    = "addresses"
)

func multiValues(u *scimflow.User) map[string][]scimflow.MultiValue {
	return map[string][]scimflow.MultiValue{
		attrEmails: u.Emails, attrPhoneNumbers: u.PhoneNumbers, attrIMs: u.IMs, attrPhotos: u.Photos,
		attrEntitlements: u.Entitlements, attrRoles: u.Roles, attrX509: u.X509Certificates,
	}
}

func toUserRow(u *scimflow.User) *userRow {
	r := &userRow{
		ID: u.ID, OrgID: u.OrgID, Source: "scim", OrgRole: string(u.Role), UserName: u.UserName, Active: u.Active,
		DisplayName: u.DisplayName, NickName: u.NickName, ProfileURL: u.ProfileURL, Title: u.Title, UserType: u.UserType,
		PreferredLanguage: u.PreferredLanguage, Locale: u.Locale, Timezone: u.Timezone,
		NameFormatted: u.Name.Formatted, NameFamilyName: u.Name.FamilyName, NameGivenName: u.Name.GivenName,
		NameMiddleName: u.Name.MiddleName, NameHonorificPrefix: u.Name.HonorificPrefix, NameHonorificSuffix: u.Name.HonorificSuffix,
		EmailSearch: emailSearch(u.Emails), Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
	if u.Local {
		r.Source = "local"
	}
	if r.OrgRole == "" {
		r.OrgRole = string(scimflow.RoleMember)
	}
	if u.ExternalID != "" {
		ext := u.ExternalID
		r.ExternalID = &ext
	}
	if e := u.Enterprise; e != nil {
		r.Enterprise = true
		r.EmployeeNumber, r.CostCenter, r.Organization, r.Division, r.Department = e.EmployeeNumber, e.CostCenter, e.Organization, e.Division, e.Department
		if m := e.Manager; m != nil {
			r.ManagerValue, r.ManagerRef, r.ManagerDisplayName = m.Value, m.Ref, m.DisplayName
		}
	}
	return r
}

// emailSearch joins the email values of a user, one per line.
func emailSearch(emails []scimflow.MultiValue) string {
	vals := make([]string, len(emails))
	for i, e := range emails {
		vals[i] = e.Value
	}
	return strings.Join(vals, "\n")
}

func toValueRows(u *scimflow.User) []userValueRow {
	var rows []userValueRow
	for attr, vals := range multiValues(u) {
		for i, v := range vals {
			rows = append(rows, userValueRow{UserID: u.ID, Attr: attr, Ord: i, Value: v.Value, Display: v.Display, Type: v.Type, IsPrimary: v.Primary})
		}
	}
	for i, a := range u.Addresses {
		rows = append(rows, userValueRow{UserID: u.ID, Attr: attrAddresses, Ord: i, Type: a.Type, IsPrimary: a.Primary,
			Formatted: a.Formatted, StreetAddress: a.StreetAddress, Locality: a.Locality, Region: a.Region, PostalCode: a.PostalCode, Country: a.Country})
	}
	return rows
}

func (r *userRow) domain(values []userValueRow) *scimflow.User {
	u := &scimflow.User{
		ID: r.ID, OrgID: r.OrgID, Local: r.Source == "local", Role: scimflow.OrgRole(r.OrgRole), UserName: r.UserName, Active: r.Active,
		DisplayName: r.DisplayName, NickName: r.NickName, ProfileURL: r.ProfileURL, Title: r.Title, UserType: r.UserType,
		PreferredLanguage: r.PreferredLanguage, Locale: r.Locale, Timezone: r.Timezone,
		Name: scimflow.Name{Formatted: r.NameFormatted, FamilyName: r.NameFamilyName, GivenName: r.NameGivenName,
			MiddleName: r.NameMiddleName, HonorificPrefix: r.NameHonorificPrefix, HonorificSuffix: r.NameHonorificSuffix},
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.ExternalID != nil {
		u.ExternalID = *r.ExternalID
	}
	if r.Enterprise {
		u.Enterprise = &scimflow.EnterpriseUser{EmployeeNumber: r.EmployeeNumber, CostCenter: r.CostCenter,
			Organization: r.Organization, Division: r.Division, Department: r.Department}
		if r.ManagerValue != "" || r.ManagerDisplayName != "" || r.ManagerRef != "" {
			u.Enterprise.Manager = &scimflow.Manager{Value: r.ManagerValue, Ref: r.ManagerRef, DisplayName: r.ManagerDisplayName}
		}
	}
	for _, v := range values { // ordered by attr, ord
		mv := scimflow.MultiValue{Value: v.Value, Display: v.Display, Type: v.Type, Primary: v.IsPrimary}
		switch v.Attr {
		case attrEmails:
			u.Emails = append(u.Emails, mv)
		case attrPhoneNumbers:
			u.PhoneNumbers = append(u.PhoneNumbers, mv)
		case attrIMs:
			u.IMs = append(u.IMs, mv)
		case attrPhotos:
			u.Photos = append(u.Photos, mv)
		case attrEntitlements:
			u.Entitlements = append(u.Entitlements, mv)
		case attrRoles:
			u.Roles = append(u.Roles, mv)
		case attrX509:
			u.X509Certificates = append(u.X509Certificates, mv)
		case attrAddresses:
			u.Addresses = append(u.Addresses, scimflow.Address{Type: v.Type, Primary: v.IsPrimary, Formatted: v.Formatted,
				StreetAddress: v.StreetAddress, Locality: v.Locality, Region: v.Region, PostalCode: v.PostalCode, Country: v.Country})
		}
	}
	return u
}

// translateUserErr turns a unique violation on users into a SCIM
// uniqueness error (RFC 7644 §3.12). userName is the only unique
// attribute of a User: externalId is not (migration 00006).
func translateUserErr(err error, u *scimflow.User) error {
	name, ok := uniqueViolation(err)
	if !ok {
		return err
	}
	if strings.Contains(name, "user_name") {
		return scimflow.SCIMErrorf(scimflow.SCIMUniqueness, "userName %q is already taken", u.UserName)
	}
	return scimflow.SCIMErrorf(scimflow.SCIMUniqueness, "a user with the same unique attributes already exists")
}

// validateUser bounds the values that go into indexes.
func validateUser(u *scimflow.User) error {
	switch {
	case len(u.UserName) > maxIndexed:
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "userName is longer than %d bytes", maxIndexed)
	case len(u.ExternalID) > maxIndexed:
		return scimflow.SCIMErrorf(scimflow.SCIMInvalidValue, "externalId is longer than %d bytes", maxIndexed)
	}
	return nil
}

func insertUser(tx *gorm.DB, u *scimflow.User, now time.Time) error {
	if err := validateUser(u); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	u.Version, u.CreatedAt, u.UpdatedAt = 1, now, now
	if u.Role == "" {
		u.Role = scimflow.RoleMember
	}
	if err := tx.Create(toUserRow(u)).Error; err != nil {
		return translateUserErr(err, u)
	}
	if rows := toValueRows(u); len(rows) > 0 {
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return err
		}
	}
	return nil
}

// CreateUser creates a SCIM user in org. ID, Version and timestamps are
// set by the store.
func (db *DB) CreateUser(ctx context.Context, orgID string, u *scimflow.User) (*scimflow.User, error) {
	u.OrgID, u.ID, u.Local = orgID, "", false
	err := db.write(ctx, "create user", func(tx *gorm.DB, q *scimflow.Queued) error {
		if err := insertUser(tx, u, db.now()); err != nil {
			return err
		}
		q.Record(orgID, scimflow.EventUserCreated, userTarget(u), map[string]any{"active": u.Active, "externalId": u.ExternalID})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func userNotFound(id string) error {
	return scimflow.Errorf(scimflow.ENOTFOUND, "User %s not found", id)
}

// FindUser returns the SCIM user id of org.
func (db *DB) FindUser(ctx context.Context, orgID, id string) (*scimflow.User, error) {
	return findUser(db.gorm.WithContext(ctx), orgID, id, false)
}

func findUser(tx *gorm.DB, orgID, id string, lock bool) (*scimflow.User, error) {
	var r userRow
	q := tx.Where("org_id = ? AND id = ? AND source = 'scim'", orgID, id)
	if lock {
		// NO KEY UPDATE serialises updates of the user without blocking
		// foreign-key inserts into group_members.
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	err := q.Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, userNotFound(id)
	}
	if err != nil {
		return nil, internal("find user", err)
	}
	var vals []userValueRow
	if err := tx.Where("user_id = ?", id).Order("attr, ord").Find(&vals).Error; err != nil {
		return nil, internal("find user values", err)
	}
	return r.domain(vals), nil
}

// UpdateUser applies fn to the current state of user id of org and stores
// the result, holding the row lock in between so that concurrent updates
// serialise instead of losing each other's writes. fn may return an error
// (for example EPRECONDITION when an If-Match does not hold) to change
// nothing. The Version is bumped on every successful update.
func (db *DB) UpdateUser(ctx context.Context, orgID, id string, fn func(*scimflow.User) error) (*scimflow.User, error) {
	var out *scimflow.User
	err := db.write(ctx, "update user", func(tx *gorm.DB, q *scimflow.Queued) error {
		u, err := findUser(tx, orgID, id, db.dialect == Postgres)
		if err != nil {
			return err
		}
		before := *u
		created, version, wasActive := u.CreatedAt, u.Version, u.Active
		if err := fn(u); err != nil {
			return err
		}
		// A PUT or PATCH that changes nothing (Okta re-sending the same
		// profile) leaves version and lastModified alone (RFC 7644 §3.5.2.1).
		u.ID, u.OrgID, u.Local, u.CreatedAt, u.Version, u.UpdatedAt = id, orgID, false, created, version, before.UpdatedAt
		if u.Role == "" {
			u.Role = before.Role
		}
		if reflect.DeepEqual(*u, before) {
			out = u
			return nil
		}
		if err := validateUser(u); err != nil {
			return err
		}
		u.Version, u.UpdatedAt = version+1, db.now()
		if u.Role == "" {
			u.Role = scimflow.RoleMember
		}
		row := toUserRow(u)
		// Select("*") writes zero values too (active=false, cleared fields).
		if err := tx.Model(&userRow{}).Where("id = ?", id).Select("*").Omit("id", "org_id", "source", "created_at").Updates(row).Error; err != nil {
			return translateUserErr(err, u)
		}
		if err := tx.Where("user_id = ?", id).Delete(&userValueRow{}).Error; err != nil {
			return err
		}
		if rows := toValueRows(u); len(rows) > 0 {
			if err := tx.CreateInBatches(rows, 200).Error; err != nil {
				return err
			}
		}
		q.Record(orgID, scimflow.EventUserUpdated, userTarget(u), userChanges(&before, u))
		// A deactivated user keeps their memberships but loses their
		// effective roles (and gets them back on reactivation).
		if u.Active != wasActive {
			if err := enqueue(tx, q, orgID, []string{id}, scimflow.ChangeUserActive, u.UpdatedAt); err != nil {
				return err
			}
		}
		out = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteUser removes user id of org for good. check, when not nil, sees
// the current version first and may veto the deletion (If-Match).
func (db *DB) DeleteUser(ctx context.Context, orgID, id string, check func(version int64) error) error {
	return db.write(ctx, "delete user", func(tx *gorm.DB, q *scimflow.Queued) error {
		// The user leaves every group (foreign keys cascade): those groups
		// change, so their versions move too, or a client's cached ETag
		// would match a group whose members changed. Groups are locked
		// before the user, in the order group PATCHes lock them, and in id
		// order, so that two deletions sharing groups cannot deadlock.
		if db.dialect == Postgres {
			var locked []string
			err := tx.Raw(`SELECT id FROM groups WHERE org_id = ? AND id IN (SELECT group_id FROM group_members WHERE user_id = ?)
				ORDER BY id FOR UPDATE`, orgID, id).Scan(&locked).Error
			if err != nil {
				return err
			}
		}
		err := tx.Exec(`UPDATE groups SET version = version + 1, updated_at = ?
			WHERE org_id = ? AND id IN (SELECT group_id FROM group_members WHERE user_id = ?)`, db.now(), orgID, id).Error
		if err != nil {
			return err
		}
		var r userRow
		sel := tx.Select("id", "version", "user_name").Where("org_id = ? AND id = ? AND source = 'scim'", orgID, id)
		if db.dialect == Postgres {
			sel = sel.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := sel.Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return userNotFound(id)
		} else if err != nil {
			return err
		}
		if check != nil {
			if err := check(r.Version); err != nil {
				return err
			}
		}
		if err := enqueue(tx, q, orgID, []string{id}, scimflow.ChangeUserDeleted, db.now()); err != nil {
			return err
		}
		q.Record(orgID, scimflow.EventUserDeleted, scimflow.Target{Type: scimflow.TargetUser, ID: id, Name: r.UserName}, nil)
		return tx.Where("id = ?", id).Delete(&userRow{}).Error
	})
}

func userTarget(u *scimflow.User) scimflow.Target {
	return scimflow.Target{Type: scimflow.TargetUser, ID: u.ID, Name: u.UserName}
}

// userChanges describes an update of a user for its audit event: the
// SCIM attributes that changed, and activation, which moves access.
func userChanges(before, after *scimflow.User) map[string]any {
	b, a := reflect.ValueOf(*before), reflect.ValueOf(*after)
	changed := []string{}
	for i := 0; i < b.NumField(); i++ {
		name := b.Type().Field(i).Name
		switch name {
		case "Version", "UpdatedAt", "CreatedAt", "ID", "OrgID", "Local", "Role":
			continue
		}
		if !reflect.DeepEqual(b.Field(i).Interface(), a.Field(i).Interface()) {
			changed = append(changed, scimAttrName(name))
		}
	}
	d := map[string]any{"changed": changed}
	if before.Active != after.Active {
		d["active"] = map[string]any{"from": before.Active, "to": after.Active}
	}
	if before.UserName != after.UserName {
		d["userName"] = map[string]any{"from": before.UserName, "to": after.UserName}
	}
	return d
}

// scimAttrName returns the SCIM name of a scimflow.User field.
func scimAttrName(field string) string {
	switch field {
	case "ExternalID":
		return "externalId"
	case "IMs":
		return "ims"
	case "ProfileURL":
		return "profileUrl"
	case "Enterprise":
		return "enterprise"
	}
	return strings.ToLower(field[:1]) + field[1:]
}
