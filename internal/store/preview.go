package store

import (
	"context"
	"sort"
	"strings"

	"gorm.io/gorm"

	"github.com/scimflow/scimflow/internal/access"
	"github.com/scimflow/scimflow/internal/scimflow"
)

// maxSample bounds the affected users a preview names.
const maxSample = 20

// PreviewGroupMappings tells what replacing group groupID's mappings by
// mappings would do to its members' effective roles, without changing
// anything. It applies the rule of the recalculation (access.Effective,
// which the recalculation's SQL mirrors; a property test holds the
// preview against the result of applying).
//
// A member's effective role on an entry point can only change where the
// group's own role there changes, and then depends only on the member's
// other groups that map that entry point. So members are counted per
// combination of those other groups (a handful, however large the group),
// one statement reads the combinations, and the rule runs once per
// combination: the cost is one pass over the group's memberships.
func (db *DB) PreviewGroupMappings(ctx context.Context, orgID, groupID string, mappings []scimflow.Mapping) (*scimflow.Impact, error) {
	if err := validateMappings(mappings); err != nil {
		return nil, err
	}
	tx := db.gorm.WithContext(ctx)
	g, err := db.FindGroup(ctx, orgID, groupID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(mappings))
	for i, m := range mappings {
		ids[i] = m.EntryPointID
	}
	if err := checkEntryPoints(tx, orgID, ids); err != nil {
		return nil, internal("preview", err)
	}
	current, err := mappingsOf(tx, groupID)
	if err != nil {
		return nil, internal("preview", err)
	}
	p, err := db.newPreview(tx, g, current, mappings)
	if err != nil {
		return nil, internal("preview", err)
	}
	if err := p.count(tx, db.dialect); err != nil {
		return nil, internal("preview", err)
	}
	if err := p.nameSample(tx); err != nil {
		return nil, internal("preview", err)
	}
	return p.out, nil
}

type preview struct {
	group   *scimflow.Group
	changed []string               // entry points whose role in the group changes, by name
	names   map[string]string      // entry point names
	before  map[string]access.Role // the group's roles now
	after   map[string]access.Role // the group's roles after the change
	others  []scimflow.Mapping     // other groups' mappings on the changed entry points
	groupOf map[string]string      // names of those other groups
	out     *scimflow.Impact
	byEntry map[string]*scimflow.EntryPointImpact
	heldBy  map[string]map[[2]string]int64     // entry point -> (role, group id) -> users
	changes map[string][]scimflow.ImpactSample // per combination of other groups: what changes
	// allBefore and allAfter are every mapping that matters, with the
	// group's current and its new one: built once, used per combination.
	allBefore, allAfter []scimflow.Mapping
}

func (db *DB) newPreview(tx *gorm.DB, g *scimflow.Group, current []versionEntry, next []scimflow.Mapping) (*preview, error) {
	p := &preview{group: g, names: map[string]string{}, before: map[string]access.Role{}, after: map[string]access.Role{},
		groupOf: map[string]string{}, out: &scimflow.Impact{EntryPoints: []scimflow.EntryPointImpact{}, Sample: []scimflow.ImpactSample{}},
		byEntry: map[string]*scimflow.EntryPointImpact{}, heldBy: map[string]map[[2]string]int64{}, changes: map[string][]scimflow.ImpactSample{}}
	for _, m := range current {
		r, _ := access.ParseRole(m.Role)
		p.before[m.ID], p.names[m.ID] = r, m.Name
	}
	for _, m := range next {
		r, _ := access.ParseRole(m.Role)
		p.after[m.EntryPointID] = r
	}
	var newIDs []string
	for id := range p.after {
		if _, ok := p.names[id]; !ok {
			newIDs = append(newIDs, id)
		}
	}
	if len(newIDs) > 0 {
		var rows []struct{ ID, Name string }
		if err := tx.Table("entry_points").Select("id, name").Where("id IN ?", newIDs).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			p.names[r.ID] = r.Name
		}
	}
	for id := range p.names {
		if p.before[id] != p.after[id] {
			p.changed = append(p.changed, id)
		}
	}
	sort.Slice(p.changed, func(i, j int) bool {
		a, b := strings.ToLower(p.names[p.changed[i]]), strings.ToLower(p.names[p.changed[j]])
		return a < b || (a == b && p.changed[i] < p.changed[j])
	})
	for _, id := range p.changed {
		e := &scimflow.EntryPointImpact{ID: id, Name: p.names[id], From: p.before[id].String(), To: p.after[id].String(), Held: []scimflow.Held{}}
		p.byEntry[id] = e
	}
	var members int64
	if err := tx.Model(&groupMemberRow{}).Where("group_id = ?", g.ID).Count(&members).Error; err != nil {
		return nil, err
	}
	p.out.Members = members
	if len(p.changed) == 0 {
		return p, nil
	}
	var others []struct {
		GroupID, EntryPointID, Role, DisplayName string
	}
	err := tx.Table("group_mappings m").Select("m.group_id, m.entry_point_id, m.role, g.display_name").
		Joins("JOIN groups g ON g.id = m.group_id").
		Where("m.entry_point_id IN ? AND m.group_id <> ?", p.changed, g.ID).Scan(&others).Error
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		p.others = append(p.others, scimflow.Mapping{GroupID: o.GroupID, EntryPointID: o.EntryPointID, Role: o.Role})
		p.groupOf[o.GroupID] = o.DisplayName
	}
	for id, r := range p.before {
		p.allBefore = append(p.allBefore, scimflow.Mapping{GroupID: g.ID, EntryPointID: id, Role: r.String()})
	}
	for id, r := range p.after {
		p.allAfter = append(p.allAfter, scimflow.Mapping{GroupID: g.ID, EntryPointID: id, Role: r.String()})
	}
	p.allBefore = append(p.allBefore, p.others...)
	p.allAfter = append(p.allAfter, p.others...)
	return p, nil
}

// count reads the group's active members per combination of the other
// groups that matter, and applies the rule to each combination.
func (p *preview) count(tx *gorm.DB, d Dialect) error {
	if len(p.changed) == 0 {
		return nil
	}
	relevant := make([]string, 0, len(p.groupOf))
	for id := range p.groupOf {
		relevant = append(relevant, id)
	}
	sort.Strings(relevant)
	rows, err := p.combos(tx, d, relevant, false)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Combo] += r.N
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var groups []string
		if k != "" {
			groups = strings.Split(k, ",")
		}
		p.apply(k, groups, counts[k])
	}
	if p.out.UsersAffected > 0 {
		// The sample: the first members (by id) whose combination changes.
		first, err := p.combos(tx, d, relevant, true)
		if err != nil {
			return err
		}
		for _, r := range first {
			for _, c := range p.changes[r.Combo] {
				if len(p.out.Sample) == maxSample {
					break
				}
				c.UserID = r.UserID
				p.out.Sample = append(p.out.Sample, c)
			}
		}
	}
	for _, id := range p.changed {
		e := p.byEntry[id]
		for key, n := range p.heldBy[id] {
			e.Held = append(e.Held, scimflow.Held{Role: key[0], GroupID: key[1], GroupName: p.groupOf[key[1]], Users: n})
		}
		sort.Slice(e.Held, func(i, j int) bool {
			if e.Held[i].Users != e.Held[j].Users {
				return e.Held[i].Users > e.Held[j].Users
			}
			return e.Held[i].GroupName < e.Held[j].GroupName
		})
		p.out.EntryPoints = append(p.out.EntryPoints, *e)
	}
	return nil
}

type comboRow struct {
	UserID string
	Combo  string // the ids of the relevant other groups the member is in, sorted, comma-separated
	N      int64
}

// combos reads the group's active members per combination of the
// relevant other groups: counted per combination, or, for the sample,
// the first members by id with theirs.
func (p *preview) combos(tx *gorm.DB, d Dialect, relevant []string, first bool) ([]comboRow, error) {
	agg, join, args := "''", "", []any{}
	if len(relevant) > 0 {
		agg = "coalesce(string_agg(o.group_id, ',' ORDER BY o.group_id), '')"
		if d == SQLite {
			agg = "coalesce(group_concat(o.group_id, ','), '')"
		}
		join, args = "LEFT JOIN group_members o ON o.user_id = gm.user_id AND o.group_id IN ?", append(args, relevant)
	}
	inner := `SELECT gm.user_id, ` + agg + ` AS combo
		FROM group_members gm
		JOIN users u ON u.id = gm.user_id AND u.active
		` + join + `
		WHERE gm.group_id = ?
		GROUP BY gm.user_id`
	args = append(args, p.group.ID)
	var rows []comboRow
	var err error
	if first {
		err = tx.Raw(inner+" ORDER BY gm.user_id LIMIT 200", args...).Scan(&rows).Error
	} else {
		err = tx.Raw("SELECT c.combo, count(*) AS n FROM ("+inner+") c GROUP BY c.combo", args...).Scan(&rows).Error
	}
	if err != nil {
		return nil, err
	}
	// SQLite's group_concat has no order: normalise.
	for i := range rows {
		if strings.Contains(rows[i].Combo, ",") {
			parts := strings.Split(rows[i].Combo, ",")
			sort.Strings(parts)
			rows[i].Combo = strings.Join(parts, ",")
		}
	}
	return rows, nil
}

// apply counts n active members who are, besides this group, members of
// exactly groups (among those mapping a changed entry point).
func (p *preview) apply(combo string, groups []string, n int64) {
	member := append([]string{p.group.ID}, groups...)
	was := access.Effective(true, member, p.allBefore)
	will := access.Effective(true, member, p.allAfter)
	other := access.Effective(true, groups, p.others)
	affected := false
	for _, id := range p.changed {
		e := p.byEntry[id]
		from, to := was[id], will[id]
		switch {
		case from == to:
			if other[id] != access.None {
				key := [2]string{other[id].String(), p.grantor(groups, id, other[id])}
				if p.heldBy[id] == nil {
					p.heldBy[id] = map[[2]string]int64{}
				}
				p.heldBy[id][key] += n
			}
			continue
		case from == access.None:
			e.Gain += n
		case to == access.None:
			e.Lose += n
		case to > from:
			e.Raise += n
		default:
			e.Lower += n
		}
		affected = true
		p.changes[combo] = append(p.changes[combo], scimflow.ImpactSample{EntryPointID: id, EntryPointName: p.names[id],
			From: from.String(), To: to.String()})
	}
	if affected {
		p.out.UsersAffected += n
	}
}

// grantor names the group (of groups) that grants role on entry point id;
// among several, the first by name.
func (p *preview) grantor(groups []string, id string, role access.Role) string {
	best := ""
	for _, m := range p.others {
		if m.EntryPointID != id || m.Role != role.String() {
			continue
		}
		for _, g := range groups {
			if g == m.GroupID && (best == "" || p.groupOf[g] < p.groupOf[best]) {
				best = g
			}
		}
	}
	return best
}

// nameSample fills in the userNames of the sampled members.
func (p *preview) nameSample(tx *gorm.DB) error {
	if len(p.out.Sample) == 0 {
		return nil
	}
	ids := make([]string, len(p.out.Sample))
	for i, s := range p.out.Sample {
		ids[i] = s.UserID
	}
	var rows []struct{ ID, UserName string }
	if err := tx.Table("users").Select("id, user_name").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return err
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.ID] = r.UserName
	}
	for i := range p.out.Sample {
		p.out.Sample[i].UserName = names[p.out.Sample[i].UserID]
	}
	return nil
}
