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

type entryPointRow struct {
	ID        string
	OrgID     string
	Name      string
	CreatedAt time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
	UpdatedAt time.Time `gorm:"autoCreateTime:false;autoUpdateTime:false"` // set by the store
}

func (entryPointRow) TableName() string { return "entry_points" }

func (r *entryPointRow) domain() *scimflow.EntryPoint {
	return &scimflow.EntryPoint{ID: r.ID, OrgID: r.OrgID, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func entryPointNotFound(id string) error {
	return scimflow.Errorf(scimflow.ENOTFOUND, "entry point %s not found", id)
}

func entryPointName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", scimflow.Errorf(scimflow.EINVALID, "name is required")
	case len(name) > 200:
		return "", scimflow.Errorf(scimflow.EINVALID, "name is longer than 200 characters")
	}
	return name, nil
}

func translateEntryPointErr(err error, name string) error {
	if _, ok := uniqueViolation(err); ok {
		return scimflow.Errorf(scimflow.ECONFLICT, "an entry point named %q already exists", name)
	}
	return err
}

// CreateEntryPoint creates an entry point in org.
func (db *DB) CreateEntryPoint(ctx context.Context, orgID, name string) (*scimflow.EntryPoint, error) {
	name, err := entryPointName(name)
	if err != nil {
		return nil, err
	}
	now := db.now()
	r := entryPointRow{ID: uuid.NewString(), OrgID: orgID, Name: name, CreatedAt: now, UpdatedAt: now}
	if err := db.gorm.WithContext(ctx).Create(&r).Error; err != nil {
		return nil, internal("create entry point", translateEntryPointErr(err, name))
	}
	return r.domain(), nil
}

// FindEntryPoint returns entry point id of org.
func (db *DB) FindEntryPoint(ctx context.Context, orgID, id string) (*scimflow.EntryPoint, error) {
	var r entryPointRow
	err := db.gorm.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, entryPointNotFound(id)
	}
	if err != nil {
		return nil, internal("find entry point", err)
	}
	return r.domain(), nil
}

// ListEntryPoints returns the entry points of org by name; search filters
// by a case-insensitive substring of the name.
func (db *DB) ListEntryPoints(ctx context.Context, orgID, search string, offset, limit int) ([]*scimflow.EntryPoint, int, error) {
	q := db.gorm.WithContext(ctx).Model(&entryPointRow{}).Where("org_id = ?", orgID)
	if search = strings.TrimSpace(search); search != "" {
		q = q.Where(`lower(name) LIKE lower(?) ESCAPE '\'`, "%"+likeEscape(search)+"%")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, internal("count entry points", err)
	}
	var rows []entryPointRow
	if err := q.Order("lower(name), id").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
		return nil, 0, internal("list entry points", err)
	}
	out := make([]*scimflow.EntryPoint, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, int(total), nil
}

// RenameEntryPoint changes an entry point's name.
func (db *DB) RenameEntryPoint(ctx context.Context, orgID, id, name string) (*scimflow.EntryPoint, error) {
	name, err := entryPointName(name)
	if err != nil {
		return nil, err
	}
	res := db.gorm.WithContext(ctx).Model(&entryPointRow{}).Where("org_id = ? AND id = ?", orgID, id).
		Updates(map[string]any{"name": name, "updated_at": db.now()})
	if res.Error != nil {
		return nil, internal("rename entry point", translateEntryPointErr(res.Error, name))
	}
	if res.RowsAffected == 0 {
		return nil, entryPointNotFound(id)
	}
	return db.FindEntryPoint(ctx, orgID, id)
}

// DeleteEntryPoint deletes an entry point. Its mappings and the effective
// roles on it go in the same transaction (foreign keys cascade), so the
// access it gave is revoked at once; no other entry point's roles depend
// on it, so nothing needs recalculating. The users who hold a role on it
// are locked first, in id order, as recalculations lock them, so that a
// recalculation writing to this entry point and the cascade cannot
// deadlock.
func (db *DB) DeleteEntryPoint(ctx context.Context, orgID, id string) error {
	var deleted int64
	err := db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.dialect == Postgres {
			var locked []string
			err := tx.Raw(`SELECT id FROM users WHERE org_id = ? AND id IN (SELECT user_id FROM effective_roles WHERE entry_point_id = ?)
				ORDER BY id FOR NO KEY UPDATE`, orgID, id).Scan(&locked).Error
			if err != nil {
				return err
			}
		}
		res := tx.Where("org_id = ? AND id = ?", orgID, id).Delete(&entryPointRow{})
		deleted = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return internal("delete entry point", err)
	}
	if deleted == 0 {
		return entryPointNotFound(id)
	}
	return nil
}
