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
	err = db.write(ctx, "create entry point", func(tx *gorm.DB, q *scimflow.Queued) error {
		if err := tx.Create(&r).Error; err != nil {
			return translateEntryPointErr(err, name)
		}
		q.Record(orgID, scimflow.EventEntryPointCreated, entryPointTarget(r.ID, name), nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r.domain(), nil
}

func entryPointTarget(id, name string) scimflow.Target {
	return scimflow.Target{Type: scimflow.TargetEntryPoint, ID: id, Name: name}
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
	var out *scimflow.EntryPoint
	err = db.write(ctx, "rename entry point", func(tx *gorm.DB, q *scimflow.Queued) error {
		var r entryPointRow
		if err := tx.Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return entryPointNotFound(id)
		} else if err != nil {
			return err
		}
		out = r.domain()
		if r.Name == name {
			return nil // nothing changes, nothing to record
		}
		r.UpdatedAt = db.now()
		if err := tx.Model(&entryPointRow{}).Where("id = ?", id).
			Updates(map[string]any{"name": name, "updated_at": r.UpdatedAt}).Error; err != nil {
			return translateEntryPointErr(err, name)
		}
		q.Record(orgID, scimflow.EventEntryPointRenamed, entryPointTarget(id, name), map[string]any{"from": r.Name, "to": name})
		r.Name = name
		out = r.domain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteEntryPoint deletes an entry point. Its mappings and the effective
// roles on it go in the same transaction (foreign keys cascade), so the
// access it gave is revoked at once; no other entry point's roles depend
// on it, so nothing needs recalculating. The users who hold a role on it
// are locked first, in id order, as recalculations lock them, so that a
// recalculation writing to this entry point and the cascade cannot
// deadlock.
func (db *DB) DeleteEntryPoint(ctx context.Context, orgID, id string) error {
	return db.write(ctx, "delete entry point", func(tx *gorm.DB, q *scimflow.Queued) error {
		if db.dialect == Postgres {
			var locked []string
			err := tx.Raw(`SELECT id FROM users WHERE org_id = ? AND id IN (SELECT user_id FROM effective_roles WHERE entry_point_id = ?)
				ORDER BY id FOR NO KEY UPDATE`, orgID, id).Scan(&locked).Error
			if err != nil {
				return err
			}
		}
		var r entryPointRow
		if err := tx.Where("org_id = ? AND id = ?", orgID, id).Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return entryPointNotFound(id)
		} else if err != nil {
			return err
		}
		// The users who lose access with it, and the groups that mapped it.
		var users, groups int64
		if err := tx.Table("effective_roles").Where("entry_point_id = ?", id).Count(&users).Error; err != nil {
			return err
		}
		if err := tx.Model(&mappingRow{}).Where("entry_point_id = ?", id).Count(&groups).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&entryPointRow{}).Error; err != nil {
			return err
		}
		q.Record(orgID, scimflow.EventEntryPointDeleted, entryPointTarget(id, r.Name),
			map[string]any{"usersLosingAccess": users, "groupsMapping": groups})
		return nil
	})
}
