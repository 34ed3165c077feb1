package store

import (
	"context"
	"fmt"
	"slices"
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
	counts, err := p.comboCounts(tx, d, relevant)
	if err != nil {
		return err
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
		if err := p.sample(tx, relevant); err != nil {
			return err
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

// maskBits is how many relevant groups one mask column holds (a bigint,
// kept clear of the sign bit).
const maskBits = 62

// comboCounts counts the group's active members per combination of the
// relevant other groups (the key: their ids, sorted, comma-separated; ""
// for none).
//
// Every member of the group and of the relevant groups is read once, by
// group through the primary key, and summed per user into bit masks (a
// (group, user) pair is unique, so a sum of distinct bits is their OR):
// no join to users, no text sorts, and no plan that depends on
// statistics. Deactivated members are then taken off: they are few, and
// found through the partial index on inactive users.
func (p *preview) comboCounts(tx *gorm.DB, d Dialect, relevant []string) (map[string]int64, error) {
	words := (len(relevant) + maskBits - 1) / maskBits
	cols := make([]string, words)
	for w := range cols {
		cols[w] = fmt.Sprintf("w%d", w)
	}
	// One branch per group: the group itself marks base, each relevant
	// group sets its bit.
	branch := func(base int, bit int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "SELECT user_id, %d AS base", base)
		for w := range words {
			v := int64(0)
			if bit >= 0 && bit/maskBits == w {
				v = int64(1) << (bit % maskBits)
			}
			fmt.Fprintf(&b, ", %d AS w%d", v, w)
		}
		b.WriteString(" FROM group_members WHERE group_id = ?")
		return b.String()
	}
	branches := []string{branch(1, -1)}
	args := []any{p.group.ID}
	for i, id := range relevant {
		branches = append(branches, branch(0, i))
		args = append(args, id)
	}
	perUser, perCombo := "", ""
	for _, c := range cols {
		perUser += ", sum(" + c + ") AS " + c
		perCombo += c + ", "
	}
	q := "SELECT " + perCombo + "count(*) AS n FROM (SELECT user_id" + perUser +
		" FROM (" + strings.Join(branches, " UNION ALL ") + ") s GROUP BY user_id HAVING max(base) = 1) t"
	if words > 0 {
		q += " GROUP BY " + strings.Join(cols, ", ")
	}
	counts := map[string]int64{}
	read := func(tx *gorm.DB) error {
		rows, err := tx.Raw(q, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		mask := make([]int64, words)
		dest := make([]any, words+1)
		for w := range mask {
			dest[w] = &mask[w]
		}
		var n int64
		dest[words] = &n
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			counts[comboKey(relevant, mask)] += n
		}
		return rows.Err()
	}
	var err error
	if d == Postgres {
		// A grouping by user over a UNION ALL has no statistics: the
		// planner expects a few hundred groups where there is one per
		// member, and a parallel plan then adds a partial aggregate that
		// reduces nothing plus a sort and a gather of every row (0.5 s
		// against 0.3 s for 100,000 members on 2 cores). One process
		// streams it best.
		err = tx.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL max_parallel_workers_per_gather = 0").Error; err != nil {
				return err
			}
			return read(tx)
		})
	} else {
		err = read(tx)
	}
	if err != nil {
		return nil, err
	}
	inactive, err := p.memberCombos(tx, relevant, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range inactive {
		if counts[k]--; counts[k] == 0 {
			delete(counts, k)
		}
	}
	return counts, nil
}

// comboKey names the relevant groups whose bits are set in mask.
func comboKey(relevant []string, mask []int64) string {
	var in []string
	for i, id := range relevant {
		if mask[i/maskBits]&(int64(1)<<(i%maskBits)) != 0 {
			in = append(in, id)
		}
	}
	return strings.Join(in, ",")
}

// memberCombos returns the combination of each of the given members of
// the group (user id -> key); with no ids, of its deactivated members.
func (p *preview) memberCombos(tx *gorm.DB, relevant, ids []string) (map[string]string, error) {
	var members []string
	q := tx.Table("users u").Joins("JOIN group_members gm ON gm.user_id = u.id AND gm.group_id = ?", p.group.ID)
	if ids == nil {
		q = q.Where("u.org_id = ? AND NOT u.active", p.group.OrgID)
	} else {
		q = q.Where("u.id IN ?", ids)
	}
	if err := q.Pluck("u.id", &members).Error; err != nil {
		return nil, err
	}
	combos := make(map[string]string, len(members))
	in := map[string][]string{}
	for c := range slices.Chunk(members, chunk) {
		for _, id := range c {
			combos[id] = ""
		}
		if len(relevant) == 0 {
			continue
		}
		var pairs []struct{ UserID, GroupID string }
		if err := tx.Table("group_members").Select("user_id, group_id").
			Where("user_id IN ? AND group_id IN ?", c, relevant).Scan(&pairs).Error; err != nil {
			return nil, err
		}
		for _, r := range pairs {
			in[r.UserID] = append(in[r.UserID], r.GroupID)
		}
	}
	for id, groups := range in {
		sort.Strings(groups)
		combos[id] = strings.Join(groups, ",")
	}
	return combos, nil
}

// sample names the first affected members by id among the group's first
// active members (read in key order, so the cost does not grow with the
// group).
func (p *preview) sample(tx *gorm.DB, relevant []string) error {
	var first []string
	err := tx.Table("group_members gm").Joins("JOIN users u ON u.id = gm.user_id AND u.active").
		Where("gm.group_id = ?", p.group.ID).Order("gm.user_id").Limit(200).Pluck("gm.user_id", &first).Error
	if err != nil || len(first) == 0 {
		return err
	}
	combos, err := p.memberCombos(tx, relevant, first)
	if err != nil {
		return err
	}
	for _, id := range first {
		for _, c := range p.changes[combos[id]] {
			if len(p.out.Sample) == maxSample {
				return nil
			}
			c.UserID = id
			p.out.Sample = append(p.out.Sample, c)
		}
	}
	return nil
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
